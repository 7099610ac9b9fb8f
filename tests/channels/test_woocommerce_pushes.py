"""Pushed back to a WooCommerce-format server: stock by batch, tracking and status, refunds."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.services.availability import availability_changes_emit
from oms.outbox import emit
from orders.channels.models import ChannelPush
from orders.channels.services.sync import channel_pull
from orders.models import Order
from tests.channels.servers import woo_order
from tests.fulfillment.helpers import dc, stock

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


def test_tracking_goes_as_a_note_and_the_status(api, woo, woo_server, django_capture_on_commit_callbacks):
    woo_server.orders = [woo_order(1)]
    channel_pull(connection_id=woo.pk)
    order = Order.objects.get()
    payload = {"order": order.number, "carrier": "parcelo", "tracking_number": "PCL123", "lines": []}
    with django_capture_on_commit_callbacks(execute=True):
        emit("shipment.shipped", subject=order, merchant_id=order.merchant_id, payload=payload)
    [note] = woo_server.calls("POST", r".*/orders/701/notes")
    assert "PCL123" in note["json"]["note"]
    assert woo_server.calls("PUT", r".*/orders/701")[0]["json"] == {"status": "completed"}
    assert ChannelPush.objects.get().status == "sent"


def test_a_refund_is_pushed(api, woo, woo_server, django_capture_on_commit_callbacks):
    woo_server.orders = [woo_order(1)]
    channel_pull(connection_id=woo.pk)
    order = Order.objects.get()
    payload = {"number": order.number, "amount": "5.00", "currency": "USD", "reason": "Damaged"}
    with django_capture_on_commit_callbacks(execute=True):
        emit("refund.issued", subject=order, merchant_id=order.merchant_id, payload=payload)
    [refund] = woo_server.calls("POST", r".*/orders/701/refunds")
    assert refund["json"] == {"amount": "5.00", "reason": "Damaged", "api_refund": False}
