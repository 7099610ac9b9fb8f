"""Pushed back to a WooCommerce-format server: stock by batch, tracking and status, refunds."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.services.availability import availability_changes_emit
from oms.actors import Actor
from oms.outbox import emit
from orders.channels.models import ChannelPush
from orders.channels.services.sync import channel_pull
from orders.models import Order
from orders.payments.services import payment_capture
from orders.services.cancel import order_cancel
from tests.channels.servers import woo_order
from tests.fulfillment.helpers import dc, fos_of, stock, url
from tests.fulfillment.test_shipping import packed

pytestmark = pytest.mark.django_db


def test_stock_goes_to_the_variation_by_batch(api, woo, woo_server, django_capture_on_commit_callbacks):
    woo_server.orders = [woo_order(1)]
    channel_pull(connection_id=woo.pk)  # learns TSHIRT-RED-M = product 93, variation 101
    with django_capture_on_commit_callbacks(execute=True):
        stock(api.red, dc(api), 12)
    with django_capture_on_commit_callbacks(execute=True):
        availability_changes_emit(now=timezone.now() + timedelta(seconds=10))
    [sent] = woo_server.calls("POST", r".*/products/93/variations/batch")
    assert sent["json"] == {"update": [{"id": 101, "stock_quantity": 12, "manage_stock": True}]}
    assert sent["headers"]["Authorization"].startswith("Basic ")


def test_each_shipment_is_a_note_with_tracking_and_only_the_last_completes_the_order(
    api, woo, woo_server, django_capture_on_commit_callbacks
):
    east, west = dc(api), dc(api, "DC-WEST")
    stock(api.red, east, 5)
    stock(api.blue, west, 5)
    order = packed(api, [(api.red, east, 1), (api.blue, west, 1)])
    Order.objects.filter(pk=order.pk).update(channel=woo.channel, external_id="701", channel_order_name="#701")
    first, second = fos_of(order)
    with django_capture_on_commit_callbacks(execute=True):
        shipment = api.client.post(url(first, "ship"), {}, format="json").json()[0]
    [note] = woo_server.calls("POST", r".*/orders/701/notes")
    assert shipment["tracking_number"] in note["json"]["note"]
    assert note["json"]["customer_note"] is True
    assert not woo_server.calls("PUT", r".*/orders/701")  # one of two parcels: not `completed` yet
    with django_capture_on_commit_callbacks(execute=True):
        last = api.client.post(url(second, "ship"), {}, format="json").json()[0]
    assert last["tracking_number"] in woo_server.calls("POST", r".*/orders/701/notes")[1]["json"]["note"]
    assert [c["json"] for c in woo_server.calls("PUT", r".*/orders/701")] == [{"status": "completed"}]
    assert set(ChannelPush.objects.values_list("status", flat=True)) == {"sent"}


def test_a_partial_cancellation_is_a_note_and_the_line_updated(
    api, woo, woo_server, django_capture_on_commit_callbacks
):
    woo_server.orders = [woo_order(1)]
    channel_pull(connection_id=woo.pk)
    order = Order.objects.get()
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        order_cancel(
            order=order, actor=Actor.system("csr"), reason="Damaged in the DC", lines=[{"line": line.pk, "quantity": 1}]
        )
    [note] = woo_server.calls("POST", r".*/orders/701/notes")
    assert note["json"]["note"] == "Cancelled 1 × TSHIRT-RED-M: Damaged in the DC"
    [update] = woo_server.calls("PUT", r".*/orders/701")
    assert update["json"] == {"line_items": [{"id": 9001, "quantity": 1, "subtotal": "20.00", "total": "18.00"}]}
    [refund] = woo_server.calls("POST", r".*/orders/701/refunds")  # the cancelled unit's value, on its own
    assert refund["json"]["amount"] == str(order.refunds.get().amount.quantize(Decimal("0.01")))
    # The next pull sees the line as the OMS has it: nothing to change back.
    woo_server.orders[0]["date_modified_gmt"] = "2026-01-05T12:00:00"
    assert channel_pull(connection_id=woo.pk).duplicates == 1
    assert order.lines.get().qty_cancelled == 1


def test_a_refund_is_pushed(api, woo, woo_server, django_capture_on_commit_callbacks):
    woo_server.orders = [woo_order(1)]
    channel_pull(connection_id=woo.pk)
    order = Order.objects.get()
    payload = {"number": order.number, "amount": "5.00", "currency": "USD", "reason": "Damaged"}
    with django_capture_on_commit_callbacks(execute=True):
        emit("refund.issued", subject=order, merchant_id=order.merchant_id, payload=payload)
    [refund] = woo_server.calls("POST", r".*/orders/701/refunds")
    assert refund["json"] == {"amount": "5.00", "reason": "Damaged", "api_refund": False}


def test_an_on_hold_order_the_oms_captures_is_set_paid(api, woo, woo_server, django_capture_on_commit_callbacks):
    woo_server.orders = [woo_order(1, status="on-hold")]
    channel_pull(connection_id=woo.pk)
    with django_capture_on_commit_callbacks(execute=True):
        payment_capture(payment=Order.objects.get().payments.get(), actor=Actor.system("finance"))
    [note] = woo_server.calls("POST", r".*/orders/701/notes")
    assert note["json"]["note"] == "Payment of 44.69 USD captured."
    assert [c["json"] for c in woo_server.calls("PUT", r".*/orders/701")] == [{"set_paid": True}]
