from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.execution.pickup import pickups_expire
from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from oms.models import OutboxEvent
from orders.models import Order
from tests.factories import MerchantPaymentSettingsFactory
from tests.fulfillment.helpers import fos_of, held, routed_order, scans_for, stock, url

pytestmark = pytest.mark.django_db


def ready(api):
    stock(api.red, api.store, 5)
    order = routed_order(api, [(api.red, api.store, 2)], pickup=api.store)
    order_release(order=order)
    fo = fos_of(order)[0]
    api.client.post(url(fo, "accept"), {}, format="json")
    api.client.post(url(fo, "pick"), {}, format="json")
    response = api.client.post(url(fo, "pack"), {"scans": scans_for(fo)}, format="json")
    assert response.status_code == 200, response.json()
    return order, fo


def test_packing_a_pick_up_makes_it_ready_and_the_customer_collects_it(api):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="per_shipment")
    order, fo = ready(api)
    order.refresh_from_db()
    assert order.status == "ready_for_pickup"
    assert FulfillmentOrder.objects.get(pk=fo.pk).status == "ready_for_pickup"
    event = OutboxEvent.objects.get(type="order.ready_for_pickup")
    assert event.payload["location"] == api.store.code
    assert api.client.post(url(fo, "ship"), {}, format="json").status_code == 409  # collected, never shipped

    response = api.client.post(url(fo, "picked-up"), {}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "picked_up"
    order.refresh_from_db()
    assert order.status == "picked_up"
    assert held(api.red, api.store) == (3, 0)
    line = order.lines.get()
    assert (line.qty_shipped, line.qty_delivered, line.qty_allocated) == (2, 2, 0)
    assert order.payments.get().captured_amount == Decimal("39.98")
    assert OutboxEvent.objects.filter(type="order.picked_up").count() == 1


def test_a_pick_up_not_collected_in_time_is_cancelled_and_its_stock_returned(api):
    order, fo = ready(api)
    assert pickups_expire(now=timezone.now() + timedelta(days=6)) == 0
    assert pickups_expire(now=timezone.now() + timedelta(days=8)) == 1

    assert FulfillmentOrder.objects.get(pk=fo.pk).status == "cancelled"
    assert held(api.red, api.store) == (5, 0)
    order = Order.objects.get(pk=order.pk)
    assert order.status == "cancelled"
    assert order.events.filter(name="cancel").get().reason == "Not collected within 7 days"
