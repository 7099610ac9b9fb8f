"""Pushed back to the channel's own server: availability after a stock change, tracking after a
shipment, cancellations; failures retried from the database, rejections raised as exceptions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.services.availability import availability_changes_emit
from oms.actors import Actor
from oms.models import OpsException
from orders.channels.models import ChannelPush
from orders.channels.services.connections import connection_update, sku_map_set
from orders.channels.services.pushes import PUSH_FAILED, channel_push_send, channel_pushes_send_due
from orders.channels.services.sync import channel_pull
from orders.models import Order
from orders.services.cancel import order_cancel
from tests.channels.servers import shopify_order
from tests.fulfillment.helpers import dc, fos_of, stock, url
from tests.fulfillment.test_shipping import packed

pytestmark = pytest.mark.django_db

LOCATION = "65000000001"
ITEM = "9007199254740993"  # 2^53 + 1: a float would round it


@pytest.fixture
def mapped_shop(api, shop):
    shop.options = {"locations": {LOCATION: ["DC-EAST"]}}
    shop.save()
    sku_map_set(connection=shop, sku="TSHIRT-RED-M", ids={"variant_id": "44000000000001", "inventory_item_id": ITEM})
    return shop


def stock_change(api, hooks, quantity):
    with hooks(execute=True):
        stock(api.red, dc(api), quantity)
    with hooks(execute=True):
        availability_changes_emit(now=timezone.now() + timedelta(seconds=10))


def test_availability_reaches_the_channel_after_a_stock_change(
    api, mapped_shop, shopify_server, django_capture_on_commit_callbacks
):
    stock_change(api, django_capture_on_commit_callbacks, 7)
    [sent] = shopify_server.calls("POST", r".*/inventory_levels/set\.json")
    assert sent["json"] == {"location_id": int(LOCATION), "inventory_item_id": int(ITEM), "available": 7}
    assert sent["headers"]["X-Shopify-Access-Token"] == "shpat_test"
    assert ChannelPush.objects.get().status == "sent"


def test_an_availability_update_the_channel_rejects_raises_an_exception(
    api, mapped_shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.refuse_inventory = True
    stock_change(api, django_capture_on_commit_callbacks, 3)
    assert ChannelPush.objects.get().status == "failed"
    alert = OpsException.objects.get(type=PUSH_FAILED)
    assert "inventory tracking" in alert.message


def test_a_push_that_fails_is_retried_from_the_database(
    api, mapped_shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.fail_once(503)
    stock_change(api, django_capture_on_commit_callbacks, 4)
    push = ChannelPush.objects.get()
    assert (push.status, push.attempts) == ("pending", 1)
    ChannelPush.objects.filter(pk=push.pk).update(next_attempt_at=timezone.now())
    assert channel_pushes_send_due() == 1
    push.refresh_from_db()
    assert (push.status, push.attempts) == ("sent", 2)


def test_an_inactive_connections_pushes_wait_until_it_is_active_again(
    api, mapped_shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.fail_once(503)
    stock_change(api, django_capture_on_commit_callbacks, 4)
    push = ChannelPush.objects.get()
    connection_update(connection=mapped_shop, changes={"active": False})
    ChannelPush.objects.filter(pk=push.pk).update(next_attempt_at=timezone.now())
    assert channel_pushes_send_due() == 0
    assert channel_push_send(push_id=push.pk) is None
    assert ChannelPush.objects.get(pk=push.pk).attempts == 1, "not tried while inactive"
    connection_update(connection=mapped_shop, changes={"active": True})
    assert channel_pushes_send_due() == 1
    assert ChannelPush.objects.get(pk=push.pk).status == "sent"


def test_a_shipments_tracking_reaches_the_channel(api, mapped_shop, shopify_server, django_capture_on_commit_callbacks):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 2)])
    Order.objects.filter(pk=order.pk).update(
        channel=mapped_shop.channel, external_id="5600000000001", channel_order_name="#1001"
    )
    shopify_server.orders = [shopify_order(1, quantity=2)]
    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json")
    assert response.status_code == 201, response.json()
    shipment = response.json()[0]
    [sent] = shopify_server.calls("POST", r".*/fulfillments\.json")
    body = sent["json"]["fulfillment"]
    assert body["tracking_info"]["number"] == shipment["tracking_number"]
    assert body["tracking_info"]["company"] == shipment["carrier"]
    assert body["line_items_by_fulfillment_order"][0]["fulfillment_order_line_items"][0]["quantity"] == 2


def test_an_oms_cancellation_is_pushed_but_one_from_the_channel_is_not_echoed(
    api, shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.orders = [shopify_order(1), shopify_order(2)]
    channel_pull(connection_id=shop.pk)
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(
            order=Order.objects.get(external_id="5600000000001"), actor=Actor.system("csr"), reason="Out of stock"
        )
    assert [r["path"] for r in shopify_server.calls("POST", r".*/cancel\.json")] == [
        "/admin/api/2024-10/orders/5600000000001/cancel.json"
    ]
    later = "2026-01-05T11:00:00+00:00"
    shopify_server.orders = [shopify_order(2, cancelled_at=later, updated_at=later)]
    with django_capture_on_commit_callbacks(execute=True):
        assert channel_pull(connection_id=shop.pk).updated == 1
    assert len(shopify_server.calls("POST", r".*/cancel\.json")) == 1


def test_a_rate_limited_push_waits_its_retry_after(
    api, mapped_shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.throttle_once(retry_after=120)
    stock_change(api, django_capture_on_commit_callbacks, 5)
    push = ChannelPush.objects.get()
    assert push.status == "pending"
    wait = (push.next_attempt_at - timezone.now()).total_seconds()
    assert 100 < wait <= 120
