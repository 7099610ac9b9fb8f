"""The EasyPost-style HTTP carrier adapter against a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone

from fulfillment.carriers.adapters import adapter_for
from fulfillment.carriers.models import Carrier
from fulfillment.tasks import trackers_poll
from fulfillment.tracking.models import Shipment
from fulfillment.tracking.services import trackers_poll as poll
from tests.factories import CarrierFactory, CarrierServiceFactory, CarrierStatusCodeFactory
from tests.fulfillment.helpers import dc, fos_of, stock, url
from tests.fulfillment.test_shipping import barcodes_in, packed

pytestmark = pytest.mark.django_db


class FakeCarrierApi:
    """Answers like EasyPost: POST /shipments (rates), /shipments/{id}/buy, /shipments/{id}/refund,
    GET /trackers?tracking_code=."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, Any], str]] = []
        self.down = False
        self.trackers: Any = [{"id": "trk_1", "tracking_details": [
            {"status": "pre_transit", "datetime": "2026-12-01T10:00:00Z",
             "tracking_location": {"city": "Edison", "state": "NJ"}},
            {"status": "in_transit", "datetime": "2026-12-02T03:00:00Z",
             "tracking_location": {"city": "Memphis", "state": "TN"}}]}]  # fmt: skip
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                api.requests.append(("POST", self.path, body, self.headers.get("Authorization", "")))
                if api.down:
                    return self._answer(503, {"error": "maintenance"})
                if self.path == "/v2/shipments":
                    return self._answer(201, {"id": "shp_1", "rates": [
                        {"id": "rate_g", "carrier": "FAKE", "service": "Ground", "rate": "6.10", "currency": "USD",
                         "delivery_days": 4},
                        {"id": "rate_x", "carrier": "FAKE", "service": "Express", "rate": "15.20", "currency": "USD",
                         "delivery_days": 1},
                        {"id": "rate_u", "carrier": "FAKE", "service": "Unknown", "rate": "1.00", "currency": "USD"},
                    ]})  # fmt: skip
                if self.path == "/v2/shipments/shp_1/buy":
                    return self._answer(200, {"id": "shp_1", "tracking_code": "9400FAKE0001"})
                if self.path == "/v2/shipments/shp_1/refund":
                    return self._answer(200, {"id": "shp_1", "refund_status": "submitted"})
                return self._answer(404, {"error": "not found"})

            def do_GET(self) -> None:
                api.requests.append(("GET", self.path, {}, self.headers.get("Authorization", "")))
                self._answer(200, {"trackers": api.trackers})

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_api():
    server = FakeCarrierApi()
    yield server
    server.server.shutdown()


@pytest.fixture
def http_carrier(fake_api):
    carrier = CarrierFactory(code="fake", name="Fake Parcel", adapter="http_api", api_base_url=fake_api.base,
                             api_key="sk_test_123")  # fmt: skip
    CarrierServiceFactory(carrier=carrier, code="Ground", name="Ground", service_levels=["standard"])
    CarrierServiceFactory(carrier=carrier, code="Express", name="Express", service_levels=["express", "standard"])
    return carrier


def test_it_rates_buys_tracks_and_voids_through_the_carriers_api(api, fake_api, http_carrier):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 2)])
    Carrier.objects.exclude(pk=http_carrier.pk).update(active=False)  # only the HTTP carrier

    response = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json")

    assert response.status_code == 201, response.json()
    [body] = response.json()
    assert (body["carrier"], body["service"], body["rate"]) == ("fake", "Ground", "6.10")  # cheapest known service
    assert body["tracking_number"] == "9400FAKE0001"
    label = api.client.get(body["urls"]["label_url"]).content
    assert barcodes_in(label) == [("9400FAKE0001", "Code128")]
    method, path, sent, auth = fake_api.requests[0]
    assert (method, path) == ("POST", "/v2/shipments")
    assert sent["shipment"]["to_address"]["zip"] == "94105"
    assert sent["shipment"]["parcel"]["weight"] == "35.3"  # 2 × 0.5 kg in ounces
    assert auth.startswith("Basic ")
    assert fake_api.requests[1][1:3] == ("/v2/shipments/shp_1/buy", {"rate": {"id": "rate_g"}})

    shipment = Shipment.objects.get(pk=body["id"])
    assert shipment.carrier_reference == "shp_1"
    adapter = adapter_for(http_carrier)
    updates = adapter.track(http_carrier, shipment.tracking_number)
    assert [(u.status, u.location) for u in updates] == [("pre_transit", "Edison NJ"), ("in_transit", "Memphis TN")]
    assert adapter.void_label(http_carrier, shipment.tracking_number, shipment.carrier_reference) is True


def test_a_carrier_api_that_is_down_is_skipped_by_rate_shopping(api, fake_api, http_carrier):
    fake_api.down = True
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)])  # the demo carriers are there too

    response = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()[0]["carrier"] != "fake"


def easypost_event(tracking_code: str, details: list[tuple[str, str, str]]) -> bytes:
    return json.dumps({"id": "evt_1", "object": "Event", "description": "tracker.updated", "result": {
        "id": "trk_1", "object": "Tracker", "tracking_code": tracking_code, "status": details[-1][0],
        "tracking_details": [{"status": s, "datetime": at, "tracking_location": {"city": city, "state": "NJ"}}
                             for s, at, city in details]}}).encode()  # fmt: skip


def test_the_carriers_own_webhook_format_is_accepted_at_its_own_path(api, fake_api, http_carrier):
    CarrierStatusCodeFactory(carrier=http_carrier, code="pre_transit", milestone="label_created")
    CarrierStatusCodeFactory(carrier=http_carrier, code="failure", milestone="exception")
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)])
    Carrier.objects.exclude(pk=http_carrier.pk).update(active=False)
    body = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]
    path = "/api/v1/tracking-events/easypost/?carrier=fake"

    def post(raw: bytes, secret: str = http_carrier.webhook_secret) -> Any:
        signature = "hmac-sha256-hex=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
        return api.client.generic("POST", path, raw, content_type="application/json", HTTP_X_HMAC_SIGNATURE=signature)

    seen = [("pre_transit", "2026-12-01T10:00:00Z", "Edison"), ("in_transit", "2026-12-01T20:00:00Z", "Newark")]
    first = easypost_event(body["tracking_number"], seen)
    assert post(first, secret="forged").status_code == 401
    answer = post(first)
    assert answer.status_code == 200, answer.json()
    assert answer.json() == {"events": 2, "recorded": 2}
    later = easypost_event(body["tracking_number"], [*seen, ("delivered", "2026-12-03T15:00:00Z", "San Francisco")])
    assert post(later).json() == {"events": 3, "recorded": 1}  # the first two were seen already
    shipment = Shipment.objects.get(pk=body["id"])
    assert shipment.status == "delivered"
    assert [e.milestone for e in shipment.events.order_by("occurred_at")] == [
        "label_created",
        "in_transit",
        "delivered",
    ]


def test_a_carrier_that_does_not_push_events_is_polled_hourly(api, fake_api, http_carrier):
    CarrierStatusCodeFactory(carrier=http_carrier, code="pre_transit", milestone="label_created")
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)])
    Carrier.objects.exclude(pk=http_carrier.pk).update(active=False)
    body = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]

    assert trackers_poll.delay().get() == 2  # pre_transit in Edison, in_transit in Memphis
    assert poll() == 0  # asked already this hour
    assert poll(now=timezone.now() + timedelta(hours=2)) == 0  # asked again: nothing new
    shipment = Shipment.objects.get(pk=body["id"])
    assert shipment.status == "in_transit"
    assert shipment.first_scan_at is not None


DETAIL = {"status": "delivered", "datetime": "2026-12-01T00:00:00Z"}


@pytest.mark.parametrize(
    ("trackers", "expected"),
    [
        ("x", (0, "label_created")),
        ([5], (0, "label_created")),
        ([{"id": "trk_1", "tracking_details": DETAIL}], (0, "label_created")),
        ([{"id": "trk_1", "tracking_details": [{**DETAIL, "datetime": "9999-12-31T00:00:00Z"}]}], (0, "label_created")),
        ([{"id": "trk_1", "tracking_details": [{**DETAIL, "datetime": "2026-13-45T00:00:00Z"}]}], (0, "label_created")),
        # a location of the wrong shape is dropped; the event itself counts
        ([{"id": "trk_1", "tracking_details": [{**DETAIL, "tracking_location": 3}]}], (1, "delivered")),
    ],
)
def test_a_poll_answer_of_an_unexpected_shape_or_date_is_skipped_not_a_crash(
    api, fake_api, http_carrier, trackers, expected
):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)])
    Carrier.objects.exclude(pk=http_carrier.pk).update(active=False)
    body = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]
    fake_api.trackers = trackers
    recorded = poll()
    assert (recorded, Shipment.objects.get(pk=body["id"]).status) == expected
