"""Races a node integration can cause: the same request twice at once (a retry after a
timeout), the same carrier event delivered twice at once. Real threads, real connections."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from fulfillment.models import FulfillmentOrder
from fulfillment.tracking.models import Shipment, TrackingEvent
from inventory.models import Movement
from tests.fulfillment.helpers import dc, fos_of, held, stock, tracking_event, url
from tests.fulfillment.test_shipping import packed

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def together(n: int, work: Any) -> list[Any]:
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def client_for(api: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
    return client


def test_shipping_the_same_fulfilment_order_twice_at_once_ships_it_once(api):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 2)])
    fo = fos_of(order)[0]

    codes = together(6, lambda i: client_for(api).post(url(fo, "ship"), {}, format="json").status_code)

    assert sorted(codes) == [201, 409, 409, 409, 409, 409]
    assert Shipment.objects.filter(fulfillment_order=fo).count() == 1
    assert held(api.red, east) == (3, 0)
    assert Movement.objects.filter(kind="shipment").count() == 1
    assert FulfillmentOrder.objects.get(pk=fo.pk).status == "shipped"


def test_one_carrier_event_delivered_twice_at_once_counts_once(api):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 2)])
    body = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]

    def deliver(i: int) -> int:
        return tracking_event(APIClient(), carrier=body["carrier"], tracking_number=body["tracking_number"],
                              status="delivered", event_id="same-event", occurred_at=timezone.now().isoformat(),
                              ).status_code  # fmt: skip

    codes = together(5, deliver)

    assert sorted(codes) == [200, 200, 200, 200, 201]
    assert TrackingEvent.objects.count() == 1
    assert order.lines.get().qty_delivered == 2
    order.refresh_from_db()
    assert order.status == "delivered"
