from __future__ import annotations

import pytest

from inventory.models import Movement, StockLevel
from inventory.selectors import stock_audit
from inventory.services import ReserveItem, stock_reserve
from oms.actors import Actor
from oms.models import OpsException, OutboxEvent
from oms.refs import Ref
from tests.factories import NodeFactory

URL = "/api/v1/inventory/adjustments/"


@pytest.fixture
def dc(api):
    return NodeFactory(code="DC-EAST", merchants=[api.merchant])


def post(api, *items):
    return api.client.post(URL, {"adjustments": list(items)}, format="json")


def adj(id="ADJ-1", sku="TSHIRT-RED-M", node="DC-EAST", quantity=10, reason="receipt"):
    return {"id": id, "sku": sku, "node": node, "quantity": quantity, "reason": reason}


def test_it_applies_a_receipt_and_emits_inventory_received(api, dc):
    response = post(api, adj())
    assert response.status_code == 200, response.json()
    assert response.json()["results"] == [
        {"id": "ADJ-1", "result": "applied", "on_hand": 10, "allocated": 0, "atp": 10}
    ]
    stock = StockLevel.objects.get(product=api.red, node=dc)
    assert stock.on_hand == 10
    movement = Movement.objects.get(stock=stock)
    assert (movement.kind, movement.on_hand_delta, movement.ref_type) == ("receipt", 10, "inventory.stockadjustment")
    event = OutboxEvent.objects.get(type="inventory.received")
    assert (event.payload["node"], event.payload["kind"]) == ("DC-EAST", "receipt")
    assert event.payload["items"] == [
        {"sku": "TSHIRT-RED-M", "product_id": api.red.pk, "quantity": 10, "on_hand": 10, "allocated": 0, "atp": 10}
    ]
    assert stock_audit() == []


def test_it_applies_each_id_once(api, dc):
    post(api, adj())
    response = post(api, adj())
    assert response.status_code == 200
    assert response.json()["results"][0]["result"] == "duplicate"
    assert StockLevel.objects.get(product=api.red, node=dc).on_hand == 10


def test_it_refuses_an_id_reused_with_other_content(api, dc):
    post(api, adj())
    response = post(api, adj(quantity=11))
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"][0]["code"] == "id_reused"


def test_it_reports_each_bad_item_by_field_and_applies_the_good_ones(api, dc):
    response = post(
        api,
        adj("A", sku="NOPE"),
        adj("B", node="NOWHERE"),
        adj("C", quantity="3"),
        adj("D", quantity=-2, reason="receipt"),
        adj("E", quantity=4, reason="correction"),
    )
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["error", "error", "error", "error", "applied"]
    assert results[0]["errors"][0]["field"] == "adjustments[0].sku"
    assert results[1]["errors"][0]["field"] == "adjustments[1].node"
    assert results[2]["errors"][0]["field"] == "adjustments[2].quantity"
    assert results[3]["errors"][0]["field"] == "adjustments[3].quantity"


def test_it_answers_400_when_nothing_applied(api, dc):
    response = post(api, adj(sku="NOPE"))
    assert response.status_code == 400
    assert response.json()["results"][0]["result"] == "error"


def test_it_refuses_to_take_on_hand_below_zero(api, dc):
    post(api, adj(quantity=2))
    response = post(api, adj("ADJ-2", quantity=-3, reason="damage"))
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"][0]["code"] == "below_zero"


def test_it_does_not_touch_another_merchants_node(api, other_api):
    NodeFactory(code="RIVAL-DC", merchants=[other_api.merchant])
    response = post(api, adj(node="RIVAL-DC"))
    assert response.json()["results"][0]["errors"][0]["code"] == "unknown_node"


def test_it_deallocates_the_newest_reservations_when_damage_goes_below_reserved(api, dc):
    post(api, adj(quantity=10))
    actor = Actor.system("tests")
    for n, qty in ((1, 3), (2, 3), (3, 3)):
        stock_reserve(
            items=[ReserveItem(api.red.pk, dc.pk, qty)], reference=Ref("orders.orderline", str(n)), actor=actor
        )
    response = post(api, adj("ADJ-2", quantity=-5, reason="damage"))
    assert response.status_code == 200, response.json()
    assert response.json()["results"][0] == {"id": "ADJ-2", "result": "applied", "on_hand": 5, "allocated": 5, "atp": 0}
    event = OutboxEvent.objects.get(type="inventory.shortfall")
    assert event.payload["references"] == [
        {"type": "orders.orderline", "id": "3", "quantity": 3},
        {"type": "orders.orderline", "id": "2", "quantity": 1},
    ]
    assert OpsException.objects.filter(type="inventory_shortfall").exists()
    assert stock_audit() == []


def test_it_applies_a_transfer_adjustment_at_one_node(api, dc):
    post(api, adj(quantity=5))
    post(api, adj("T-1", quantity=-2, reason="transfer"))
    stock = StockLevel.objects.get(product=api.red, node=dc)
    assert stock.on_hand == 3
    assert Movement.objects.filter(stock=stock, kind="transfer_out").exists()
