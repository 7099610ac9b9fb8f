from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from inventory.models import LowStock, Movement, Node, StockLevel
from inventory.selectors import stock_audit
from inventory.services import ReserveItem, stock_receive, stock_reserve, stock_settings_update
from oms.actors import Actor
from oms.refs import Ref
from tests.factories import NodeFactory, UserFactory

ACTOR = Actor.system("tests")


@pytest.fixture
def admin_client(client, db):
    client.force_login(UserFactory(is_superuser=True))
    return client


@pytest.fixture
def dc(api):
    node = NodeFactory(code="DC-EAST", merchants=[api.merchant])
    stock_receive(product=api.red, node=node, quantity=12, actor=ACTOR)
    return node


@pytest.mark.parametrize(
    "name",
    [
        "inventory_product_changelist",
        "inventory_node_changelist",
        "inventory_stocklevel_changelist",
        "inventory_movement_changelist",
        "inventory_lowstock_changelist",
        "inventory_snapshot_changelist",
        "inventory_stockadjustment_changelist",
        "inventory_channelrule_changelist",
    ],
)
def test_it_opens_every_inventory_page(admin_client, dc, name):
    assert admin_client.get(reverse(f"admin:{name}"), {"q": "TSHIRT"}).status_code == 200


def test_it_shows_stock_across_nodes_with_a_ledger_link(admin_client, dc, api):
    stock = StockLevel.objects.get(product=api.red, node=dc)
    page = admin_client.get(reverse("admin:inventory_stocklevel_changelist"), {"q": "TSHIRT-RED-M"}).content.decode()
    assert "DC-EAST" in page
    ledger = admin_client.get(reverse("admin:inventory_movement_changelist"), {"stock__id__exact": stock.pk})
    assert "receipt" in ledger.content.decode()


def test_it_lists_rows_below_their_threshold_as_low_stock(admin_client, dc, api):
    stock = StockLevel.objects.get(product=api.red, node=dc)
    stock_settings_update(stock=stock, actor=ACTOR, reorder_threshold=20)
    assert list(LowStock.objects.filter(low_stock=True)) == [stock]
    page = admin_client.get(reverse("admin:inventory_lowstock_changelist")).content.decode()
    assert "TSHIRT-RED-M" in page


def test_it_edits_only_stock_policy_through_the_service(admin_client, dc, api):
    stock = StockLevel.objects.get(product=api.red, node=dc)
    url = reverse("admin:inventory_stocklevel_change", args=[stock.pk])
    response = admin_client.post(url, {"safety_stock": 2, "reorder_threshold": 15, "on_hand": 999})
    assert response.status_code == 302
    stock.refresh_from_db()
    assert (stock.on_hand, stock.safety_stock, stock.reorder_threshold, stock.low_stock) == (12, 2, 15, True)


def test_it_exports_a_nodes_stock_as_csv(admin_client, dc, api):
    response = admin_client.get(reverse("admin:inventory_node_stock_export", args=[dc.pk]))
    assert response["Content-Type"] == "text/csv"
    lines = response.content.decode().splitlines()
    assert lines[0] == "merchant,sku,on_hand,allocated,safety_stock,reorder_threshold,atp"
    assert lines[1] == "acme,TSHIRT-RED-M,12,0,0,,12"


def test_it_imports_a_stock_csv_through_the_ledger(admin_client, dc, api):
    stock_reserve(items=[ReserveItem(api.red.pk, dc.pk, 5)], reference=Ref("orders.orderline", "9"), actor=ACTOR)
    csv = (
        "merchant,sku,on_hand,safety_stock,reorder_threshold\n"
        "acme,TSHIRT-RED-M,3,1,\n"
        "acme,TSHIRT-BLUE-M,8,,4\n"
        "acme,NOPE,1,,\n"
        "acme,TSHIRT-BLUE-M,x,,\n"
    )
    url = reverse("admin:inventory_node_stock_import", args=[dc.pk])
    response = admin_client.post(url, {"file": SimpleUploadedFile("s.csv", csv.encode())}, follow=True)
    text = response.content.decode()
    assert "2 count(s) applied" in text
    assert "2 reserved unit(s) de-allocated" in text
    assert "Line 4: unknown SKU" in text
    assert "Line 5" in text
    red = StockLevel.objects.get(product=api.red, node=dc)
    blue = StockLevel.objects.get(product=api.blue, node=dc)
    assert (red.on_hand, red.allocated, red.safety_stock) == (3, 3, 1)
    assert (blue.on_hand, blue.reorder_threshold) == (8, 4)
    assert Movement.objects.filter(kind="count_correction").count() == 2
    assert stock_audit() == []


def test_it_geocodes_a_node_saved_in_the_admin(admin_client, api):
    url = reverse("admin:inventory_node_add")
    data = {
        "code": "NY-DC", "name": "NY", "type": "dc", "merchants": [api.merchant.pk], "priority": 100,
        "tags": "[]", "line1": "", "city": "", "region": "NY", "postal_code": "10001", "country": "US",
        "capabilities": ["ship"], "ships_to": '["US"]', "time_zone": "America/New_York", "handling_cost": "0",
        "active": "on",
    }  # fmt: skip
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    node = Node.objects.get(code="NY-DC")
    assert node.geo_precision == "postal_code"
    assert node.capabilities == ["ship"]
