"""Pushed back to the channel's own server: availability after a stock change, tracking after a
shipment, cancellations; failures retried from the database, rejections raised as exceptions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

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
from orders.payments.services import payment_capture, refund_issue
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
    [cancel] = shopify_server.calls("POST", r".*/cancel\.json")
    assert cancel["path"] == "/admin/api/2024-10/orders/5600000000001/cancel.json"
    assert "amount" not in cancel["json"]  # cancel.json moves no money: the refund push does
    [refund] = shopify_server.refunds[5600000000001]
    assert refund["transactions"] == [
        {"parent_id": 5600000000004, "amount": "24.84", "kind": "refund", "gateway": "shopify_payments"}
    ]
    later = "2026-01-05T11:00:00+00:00"
    shopify_server.orders = [shopify_order(2, cancelled_at=later, updated_at=later)]
    with django_capture_on_commit_callbacks(execute=True):
        assert channel_pull(connection_id=shop.pk).updated == 1
    assert len(shopify_server.calls("POST", r".*/cancel\.json")) == 1
    assert 5600000000002 not in shopify_server.refunds  # nor the refund the channel's cancellation caused


def test_a_rate_limited_push_waits_its_retry_after(
    api, mapped_shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.throttle_once(retry_after=120)
    stock_change(api, django_capture_on_commit_callbacks, 5)
    push = ChannelPush.objects.get()
    assert push.status == "pending"
    wait = (push.next_attempt_at - timezone.now()).total_seconds()
    assert 100 < wait <= 120


def test_a_refund_names_the_sale_it_refunds(api, shop, shopify_server, django_capture_on_commit_callbacks):
    shopify_server.orders = [shopify_order(1)]
    channel_pull(connection_id=shop.pk)
    order = Order.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        refund_issue(order=order, amount=Decimal("5.00"), reason="Damaged", actor=Actor.system("csr"))
    [refund] = shopify_server.refunds[5600000000001]
    assert refund["transactions"] == [
        {"parent_id": 5600000000004, "amount": "5.00", "kind": "refund", "gateway": "shopify_payments"}
    ]
    assert (refund["note"], refund["currency"]) == ("Damaged", "USD")
    assert ChannelPush.objects.get(kind="refund").status == "sent"


def test_a_refund_beyond_what_the_sale_holds_raises_an_exception(
    api, shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.orders = [shopify_order(1)]
    channel_pull(connection_id=shop.pk)
    # Refunded on Shopify already (outside the OMS): 20 of the 24.84 sale is gone.
    shopify_server.extra_transactions[5600000000001] = [
        {"id": 1, "kind": "refund", "status": "success", "amount": "20.00", "parent_id": 5600000000004}
    ]
    with django_capture_on_commit_callbacks(execute=True):
        refund_issue(order=Order.objects.get(), amount=Decimal("5.00"), reason="Damaged", actor=Actor.system("csr"))
    assert 5600000000001 not in shopify_server.refunds
    assert ChannelPush.objects.get(kind="refund").status == "failed"
    assert "more than its sale/capture transactions hold" in OpsException.objects.get(type=PUSH_FAILED).message


def test_a_partial_cancellation_restocks_the_line_and_refunds_its_value_on_the_sale(
    api, shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.orders = [shopify_order(1, quantity=3)]
    channel_pull(connection_id=shop.pk)
    order = Order.objects.get()
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(
            order=order, actor=Actor.system("csr"), reason="Out of stock", lines=[{"line": line.pk, "quantity": 1}]
        )
    assert order.refunds.get().amount == Decimal("19.81")  # 20.00 - 2.00/3 discount + 1.44/3 tax, rounded
    # Two refunds on Shopify: the cancelled unit restocked (no money), and its value on the sale.
    money, restock = sorted(shopify_server.refunds[5600000000001], key=lambda r: bool(r.get("refund_line_items")))
    assert restock["refund_line_items"] == [{"line_item_id": 13000000000001, "quantity": 1, "restock_type": "cancel"}]
    assert restock["transactions"] == []
    assert money["transactions"][0]["parent_id"] == 5600000000004
    assert money["transactions"][0]["amount"] == "19.81"
    assert not shopify_server.calls("POST", r".*/cancel\.json")  # the order itself stays open
    assert set(ChannelPush.objects.values_list("kind", "status")) == {("line_cancellation", "sent"), ("refund", "sent")}


def test_an_authorized_order_the_oms_captures_is_captured_on_the_authorization(
    api, shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.orders = [shopify_order(1, financial_status="authorized")]
    channel_pull(connection_id=shop.pk)
    payment = Order.objects.get().payments.get()
    assert (payment.gateway, payment.status) == ("channel", "authorized")
    with django_capture_on_commit_callbacks(execute=True):
        payment_capture(payment=payment, actor=Actor.system("csr"))
    [sent] = shopify_server.calls("POST", r".*/orders/5600000000001/transactions\.json")
    assert sent["json"]["transaction"] == {"parent_id": 5600000000004, "amount": "24.84", "kind": "capture",
                                           "gateway": "shopify_payments", "currency": "USD"}  # fmt: skip
    assert ChannelPush.objects.get(kind="capture").status == "sent"


def test_a_charge_the_channel_took_itself_is_not_captured_again(
    api, shop, shopify_server, django_capture_on_commit_callbacks
):
    shopify_server.orders = [shopify_order(1)]  # financial_status paid
    with django_capture_on_commit_callbacks(execute=True):
        channel_pull(connection_id=shop.pk)
    assert not shopify_server.calls("POST", r".*/transactions\.json")
    assert not ChannelPush.objects.filter(kind="capture").exists()
