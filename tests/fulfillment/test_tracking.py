from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.carriers.models import CarrierService
from fulfillment.signing import sign
from fulfillment.tracking.models import Shipment
from oms.models import OutboxEvent
from orders.models import Order
from tests.fulfillment.helpers import dc, fos_of, stock, tracking_event, url
from tests.fulfillment.test_shipping import packed

pytestmark = pytest.mark.django_db


@pytest.fixture
def shipped(api):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 2)])
    body = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]
    return Shipment.objects.select_related("carrier").get(pk=body["id"])


def at(hours: int) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def send(api, shipment, status, event_id, hours, **kwargs):
    return tracking_event(api.client, carrier=shipment.carrier.code, tracking_number=shipment.tracking_number,
                          status=status, event_id=event_id, occurred_at=at(hours), **kwargs)  # fmt: skip


def test_the_signature_check_refuses_a_forged_or_unsigned_event(api, shipped):
    forged = send(api, shipped, "delivered", "evil-1", 1, secret="not-the-carriers-secret")
    assert forged.status_code == 401
    assert forged.json()["errors"][0]["code"] == "bad_signature"
    event = {"event_id": "evil-2", "carrier": shipped.carrier.code, "tracking_number": shipped.tracking_number,
             "status": "delivered", "occurred_at": at(1)}  # fmt: skip
    body = json.dumps(event).encode()
    unsigned = api.client.generic("POST", "/api/v1/tracking-events/", body, content_type="application/json")
    assert unsigned.status_code == 401
    stale = sign("whsec_demo_" + shipped.carrier.code, body, timestamp=int(time.time()) - 3600)
    replayed = api.client.generic("POST", "/api/v1/tracking-events/", body, content_type="application/json",
                                  HTTP_X_OMS_SIGNATURE=stale)  # fmt: skip
    assert replayed.status_code == 401
    tampered = sign("whsec_demo_" + shipped.carrier.code, body)
    altered = body.replace(b"delivered", b"returned_to_sender")
    assert api.client.generic("POST", "/api/v1/tracking-events/", altered, content_type="application/json",
                              HTTP_X_OMS_SIGNATURE=tampered).status_code == 401  # fmt: skip
    shipped.refresh_from_db()
    assert shipped.status == "label_created"
    assert not shipped.events.exists()


def test_events_out_of_order_never_move_a_shipment_backwards_and_deliver_the_order(api, shipped):
    assert send(api, shipped, "in_transit", "e-2", 5, location="Memphis TN").status_code == 201
    assert send(api, shipped, "delivered", "e-4", 30, location="San Francisco CA").status_code == 201
    late = send(api, shipped, "out_for_delivery", "e-3", 26, location="San Francisco CA")
    assert late.status_code == 201
    assert send(api, shipped, "carrier_pickup", "e-1", 2, location="Edison NJ").status_code == 201

    shipped.refresh_from_db()
    assert shipped.status == "delivered"
    assert shipped.on_time is True
    assert shipped.first_scan_at is not None
    order = Order.objects.get(pk=shipped.order_id)
    assert order.status == "delivered"
    assert order.lines.get().qty_delivered == 2
    assert fos_of(order)[0].status == "delivered"
    assert OutboxEvent.objects.filter(type="shipment.delivered").count() == 1
    assert OutboxEvent.objects.filter(type="shipment.out_for_delivery").count() == 0  # arrived after delivery
    assert CarrierService.objects.get(pk=shipped.service_id).on_time_sample == 1


def test_a_duplicate_event_id_answers_200_and_changes_nothing(api, shipped):
    assert send(api, shipped, "out_for_delivery", "dup-1", 3).status_code == 201
    again = send(api, shipped, "delivered", "dup-1", 4)
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    shipped.refresh_from_db()
    assert shipped.status == "out_for_delivery"
    assert shipped.events.count() == 1
    assert OutboxEvent.objects.filter(type="shipment.out_for_delivery").count() == 1


def test_an_unknown_tracking_number_answers_404(api, shipped):
    response = tracking_event(api.client, carrier=shipped.carrier.code, tracking_number="NOPE", status="in_transit",
                              event_id="x-1", occurred_at=at(1))  # fmt: skip
    assert response.status_code == 404


def test_carrier_codes_map_to_milestones(api, shipped):
    codes = {"parcelo": ("OFD", "DL"), "swift": ("with_courier", "delivered"), "metropost": ("40", "50")}
    out, done = codes[shipped.carrier.code]
    assert send(api, shipped, out, "c-1", 3).json()["milestone"] == "out_for_delivery"
    assert send(api, shipped, done, "c-2", 4).json()["milestone"] == "delivered"
    response = send(api, shipped, "ZZ-NOT-A-CODE", "c-3", 5)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unknown_status"


def test_the_customer_feed_shows_shipments_items_and_history(api, other_api, shipped):
    send(api, shipped, "in_transit", "f-1", 5, location="Memphis TN")
    send(api, shipped, "carrier_pickup", "f-0", 2, location="Edison NJ")

    feed = api.client.get(f"/api/v1/orders/{shipped.order.number}/tracking/").json()

    [parcel] = feed["shipments"]
    assert parcel["tracking_number"] == shipped.tracking_number
    assert parcel["carrier"] == shipped.carrier.name
    assert parcel["items"] == [{"sku": "TSHIRT-RED-M", "name": "Red T-shirt M", "quantity": 2}]
    assert [(h["milestone"], h["location"]) for h in parcel["history"]] == [
        ("carrier_pickup", "Edison NJ"), ("in_transit", "Memphis TN")]  # fmt: skip
    assert other_api.client.get(f"/api/v1/orders/{shipped.order.number}/tracking/").status_code == 404


def test_a_late_delivery_is_flagged_and_lowers_the_services_on_time_rate(api, shipped):
    Shipment.objects.filter(pk=shipped.pk).update(promise_date=timezone.localdate() - timedelta(days=1))
    send(api, shipped, "delivered", "late-1", 1)
    shipped.refresh_from_db()
    assert shipped.on_time is False
    assert CarrierService.objects.get(pk=shipped.service_id).on_time_rate == 0
