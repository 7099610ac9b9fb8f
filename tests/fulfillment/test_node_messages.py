"""Integrated nodes (a WMS) get signed JSON messages at their endpoint: a real local HTTP server.

Messages are rows written by the outbox consumer and sent by a job after the relay commits."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.execution.message_delivery import node_message_retry, node_messages_send_due
from fulfillment.execution.models import NodeMessage
from fulfillment.execution.release import order_release
from fulfillment.signing import verify
from oms.caches import caches_reset
from oms.models import OpsException, OutboxEvent
from oms.outbox import consumers_for, relay_batch
from oms.permissions import WAREHOUSE
from orders.services.holds import hold_place
from tests.factories import MerchantFactory, NodeProfileFactory, UserFactory
from tests.fulfillment.helpers import NODE_ACTOR, dc, routed_order, stock

pytestmark = pytest.mark.django_db
SECRET = "wms-shared-secret"


class Wms:
    def __init__(self) -> None:
        self.received: list[tuple[dict, bool]] = []
        self.hits = 0
        self.fail_next = 0
        self.before_answer: Callable[[], None] = lambda: None
        wms = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                wms.hits += 1
                wms.before_answer()
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


def integrated_order(api, wms, quantity: int):
    """An order routed to a DC whose system (the local server) takes messages."""
    east = dc(api)
    NodeProfileFactory(node=east, mode="integrated", endpoint_url=wms.url, secret=SECRET)
    stock(api.red, east, 5)
    return routed_order(api, [(api.red, east, quantity)])


def released_to_a_failing_node(api, wms, settings, capture_on_commit):
    """An order released to a node that answers 503 once, with one attempt allowed: given up."""
    settings.NODE_MESSAGE_MAX_ATTEMPTS = 1
    order = integrated_order(api, wms, 1)
    wms.fail_next = 1
    with capture_on_commit(execute=True):
        order_release(order=order)
    return order


@pytest.fixture
def wms():
    server = Wms()
    yield server
    server.server.shutdown()


def test_an_integrated_node_is_sent_a_signed_release_and_a_hold(api, wms, django_capture_on_commit_callbacks):
    order = integrated_order(api, wms, 2)

    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)
        hold_place(order=order, type="manual", reason="Customer called", actor=NODE_ACTOR)

    assert [(m["type"], signed) for m, signed in wms.received] == [("release", True), ("hold", True)]
    release = wms.received[0][0]["fulfillment_order"]
    assert release["order"] == order.number
    assert (release["lines"][0]["sku"], release["lines"][0]["quantity"]) == ("TSHIRT-RED-M", 2)
    assert release["ship_to"]["city"] == "San Francisco"


def test_a_failed_message_is_retried_from_the_database(api, wms, django_capture_on_commit_callbacks):
    order = integrated_order(api, wms, 1)
    wms.fail_next = 1

    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)

    message = NodeMessage.objects.get(type="release")
    assert (message.status, message.attempts, message.last_status_code) == ("pending", 1, 503)
    assert message.next_attempt_at > message.created_at
    assert wms.received == []
    assert node_messages_send_due() == 0, "not due yet"
    NodeMessage.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)

    assert node_messages_send_due() == 1

    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == ("sent", 2, "")
    assert [m["type"] for m, _ in wms.received] == ["release"]


def test_a_message_given_up_raises_an_exception_and_can_be_retried(
    api, wms, settings, django_capture_on_commit_callbacks
):
    released_to_a_failing_node(api, wms, settings, django_capture_on_commit_callbacks)
    message = NodeMessage.objects.get(type="release")
    assert (message.status, message.next_attempt_at) == ("failed", None)
    alert = OpsException.objects.get(type="node_message_failed")
    assert alert.subject_id == str(message.fulfillment_order_id)

    with django_capture_on_commit_callbacks(execute=True):
        assert node_message_retry(message=message)

    message.refresh_from_db()
    assert message.status == "sent"
    assert [m["type"] for m, _ in wms.received] == ["release"]


def test_a_node_endpoint_on_a_private_address_is_refused(api, wms, settings, django_capture_on_commit_callbacks):
    settings.NODE_ALLOW_PRIVATE_HOSTS = False
    order = integrated_order(api, wms, 1)

    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)

    assert wms.hits == 0
    message = NodeMessage.objects.get(type="release")
    assert message.status == "pending"
    assert "private address" in message.last_error


def test_a_redelivered_event_writes_its_messages_once(api, wms, django_capture_on_commit_callbacks):
    from fulfillment.execution.messages import node_messages

    order = integrated_order(api, wms, 1)
    with django_capture_on_commit_callbacks(execute=True):
        order_release(order=order)
    event = OutboxEvent.objects.get(type="fulfillment_order.released")

    with django_capture_on_commit_callbacks(execute=True):
        node_messages(event)

    assert NodeMessage.objects.count() == 1
    assert [m["type"] for m, _ in wms.received] == ["release"]


def test_an_integrated_node_is_asked_to_confirm_a_cancellation_after_the_pick(
    api, wms, django_capture_on_commit_callbacks
):
    order = integrated_order(api, wms, 2)
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


def test_the_warehouse_reads_a_failed_message_and_retries_it_from_the_admin(
    api, wms, settings, client, django_capture_on_commit_callbacks
):
    order = released_to_a_failing_node(api, wms, settings, django_capture_on_commit_callbacks)
    message = NodeMessage.objects.get(status="failed")
    user = UserFactory(username="wh")
    user.groups.add(Group.objects.get(name=WAREHOUSE))
    client.force_login(user)

    listing = client.get(reverse("admin:fulfillment_nodemessage_changelist"))
    page = client.get(reverse("admin:fulfillment_nodemessage_change", args=[message.pk]))
    assert listing.status_code == page.status_code == 200
    text = page.content.decode()
    assert "HTTP 503" in text
    assert order.number in text  # the body, as sent
    assert 'name="_save"' not in text, "a record, not a form"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:fulfillment_nodemessage_changelist"),
            {"action": "retry", "_selected_action": [str(message.pk)]},
        )

    assert response.status_code == 302
    message.refresh_from_db()
    assert message.status == "sent"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_node_that_hangs_holds_no_relay(api, wms):
    """The POST runs after the relay's transaction committed: while the node hangs, the event is
    dispatched and unlocked, and another relay batch runs."""
    order = integrated_order(api, wms, 1)
    arrived, answer = threading.Event(), threading.Event()

    def hang() -> None:
        arrived.set()
        answer.wait(20)

    wms.before_answer = hang
    outcome: dict[str, object] = {}

    def release() -> None:  # the wake-up runs the relay, whose commit sends the message (eager)
        try:
            order_release(order=order)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=release)
    thread.start()
    try:
        assert arrived.wait(20), "the node was never called"
        event = OutboxEvent.objects.get(type="fulfillment_order.released")
        assert event.dispatched_at is not None, "the relay committed before the POST"
        with transaction.atomic():  # and holds no lock on its events while the node hangs
            assert OutboxEvent.objects.select_for_update(nowait=True).filter(pk=event.pk).exists()
        other = OutboxEvent.objects.create(  # its wake-up lost: this test's relay takes it
            type="order.validated", merchant=MerchantFactory(), subject_type="orders.order", subject_id="1"
        )
        assert relay_batch() == 1
        assert OutboxEvent.objects.get(pk=other.pk).dispatched_at is not None
        assert NodeMessage.objects.get().status == "sending"
    finally:
        answer.set()
        thread.join(30)
    assert "error" not in outcome, outcome
    assert NodeMessage.objects.get().status == "sent"


def test_a_release_to_a_node_without_a_system_costs_the_consumer_nothing(api, wms, settings):
    """Another node is integrated; this order's node is not: no message and not one query."""
    settings.OMS_CACHE_CHECK_SECONDS = 3600  # no version check inside the measured call
    NodeProfileFactory(node=dc(api, "DC-WEST"), mode="integrated", endpoint_url=wms.url, secret=SECRET)
    east = dc(api)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 1)])
    order_release(order=order)
    [event] = OutboxEvent.objects.filter(type="fulfillment_order.released")
    consumer = next(c for c in consumers_for(event.type) if c.name == "fulfillment.node_messages")
    caches_reset()  # as a process that did not make the changes above (they are not committed)
    assert not consumer.has_work(event)
    with CaptureQueriesContext(connection) as queries:  # the nodes are cached after the first
        assert not consumer.has_work(event)
    assert len(queries) == 0
    relay_batch()
    assert not NodeMessage.objects.exists()
