"""Integrated nodes (a WMS) get signed JSON messages at their endpoint: a real local HTTP server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from fulfillment.execution.release import order_release
from fulfillment.signing import verify
from oms.models import OutboxDelivery
from oms.outbox import relay
from orders.services.holds import hold_place
from tests.factories import NodeProfileFactory
from tests.fulfillment.helpers import NODE_ACTOR, dc, routed_order, stock

pytestmark = pytest.mark.django_db
SECRET = "wms-shared-secret"


class Wms:
    def __init__(self) -> None:
        self.received: list[tuple[dict, bool]] = []
        self.fail_next = 0
        wms = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if wms.fail_next:
                    wms.fail_next -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                wms.received.append((json.loads(body), verify(SECRET, self.headers.get("X-OMS-Signature", ""), body)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/oms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def wms():
    server = Wms()
    yield server
    server.server.shutdown()


def test_an_integrated_node_is_sent_a_signed_release_and_a_hold(api, wms, django_capture_on_commit_callbacks):
    east = dc(api)
    NodeProfileFactory(node=east, mode="integrated", endpoint_url=wms.url, secret=SECRET)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 2)])

    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)
        hold_place(order=order, type="manual", reason="Customer called", actor=NODE_ACTOR)

    assert [(m["type"], signed) for m, signed in wms.received] == [("release", True), ("hold", True)]
    release = wms.received[0][0]["fulfillment_order"]
    assert release["order"] == order.number
    assert (release["lines"][0]["sku"], release["lines"][0]["quantity"]) == ("TSHIRT-RED-M", 2)
    assert release["ship_to"]["city"] == "San Francisco"


def test_a_failed_delivery_is_retried_from_the_database(api, wms, django_capture_on_commit_callbacks):
    east = dc(api)
    NodeProfileFactory(node=east, mode="integrated", endpoint_url=wms.url, secret=SECRET)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 1)])
    wms.fail_next = 1

    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)

    delivery = OutboxDelivery.objects.get(
        consumer="fulfillment.node_messages", event__type="fulfillment_order.released"
    )
    assert (delivery.status, delivery.attempts) == ("pending", 1)
    assert delivery.next_attempt_at is not None
    assert wms.received == []
    OutboxDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.event.created_at)
    relay()
    delivery.refresh_from_db()
    assert delivery.status == "done"
    assert [m["type"] for m, _ in wms.received] == ["release"]


def test_an_integrated_node_is_asked_to_confirm_a_cancellation_after_the_pick(
    api, wms, django_capture_on_commit_callbacks
):
    east = dc(api)
    NodeProfileFactory(node=east, mode="integrated", endpoint_url=wms.url, secret=SECRET)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 2)])
    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)
    fo = order.fulfillment_orders.get()
    api.client.post(f"/api/v1/fulfillment-orders/{fo.pk}/accept/", {}, format="json")
    api.client.post(f"/api/v1/fulfillment-orders/{fo.pk}/pick/", {}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "Fraud"}, format="json")

    assert response.status_code == 202
    message, signed = wms.received[-1]
    assert (message["type"], signed) == ("cancel_request", True)
    assert message["cancel"] == {"reason": "Fraud", "lines": {str(fo.lines.get().pk): 2}}
