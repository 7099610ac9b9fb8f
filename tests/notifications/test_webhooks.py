"""Merchant webhooks end to end: real order changes, the outbox, signed POSTs to a local server."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from inventory.services.stock import stock_adjust, stock_settings_update
from notifications import signing
from notifications.models import EmailLog, WebhookDelivery, WebhookSubscription
from notifications.services.webhooks import webhook_delivery_replay, webhooks_send_due
from oms.actors import Actor
from oms.errors import Conflict
from oms.models import OpsException, OutboxEvent
from tests.factories import NodeFactory, StockLevelFactory, WebhookSubscriptionFactory
from tests.payments.helpers import body

pytestmark = pytest.mark.django_db


def capture(api, run_commits, **changes):
    response = run_commits(api.client.post, "/api/v1/orders/", body(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def subscribe(api, endpoint, *types):
    return WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=list(types) or ["*"])


def make_due():
    past = timezone.now() - timedelta(seconds=1)
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=past)
    WebhookSubscription.objects.exclude(retry_at=None).update(retry_at=past)


def test_it_posts_signed_events_that_verify_by_the_documented_procedure(api, run_commits, endpoint):
    sub = subscribe(api, endpoint, "order.validated")
    order = capture(api, run_commits)
    [request] = endpoint.requests
    headers, raw = request["headers"], request["body"]
    # docs/NOTIFICATIONS.md: HMAC-SHA256 over "<t>.<body>" with the secret, compared to v1.
    assert signing.verify(sub.secret, headers["OMS-Signature"], raw)
    assert not signing.verify(sub.secret, headers["OMS-Signature"], raw.replace(b"ACME-", b"EVIL-"))
    assert not signing.verify("whsec_another", headers["OMS-Signature"], raw)
    event = json.loads(raw)
    stored = OutboxEvent.objects.get(type="order.validated")
    assert (event["id"], event["type"], event["merchant"]) == (str(stored.pk), "order.validated", "acme")
    assert event["created_at"].endswith("Z")
    assert (headers["OMS-Event-Id"], headers["OMS-Event-Type"]) == (str(stored.pk), "order.validated")
    assert headers["Content-Type"] == "application/json"
    # The object as GET /api/v1/orders/<number>/ shows it, and what the emitter recorded.
    assert event["object_type"] == "order"
    assert event["object"]["number"] == order["number"]
    assert event["object"]["lines"][0]["sku"] == "TSHIRT-RED-M"
    assert event["payload"]["number"] == order["number"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
    [attempt] = delivery.attempt_log.all()
    assert (attempt.status_code, attempt.ok) == (200, True)


def test_a_star_subscription_gets_every_event_of_its_merchant_only(api, other_api, run_commits, endpoint):
    subscribe(api, endpoint, "*")
    WebhookSubscriptionFactory(merchant=other_api.merchant, url=endpoint.url + "/rival", event_types=["*"])
    capture(api, run_commits)
    types = endpoint.types()
    assert {"order.received", "order.validated", "payment.captured", "order.ready"} <= set(types)
    assert all(r["path"] == "/hooks/oms" for r in endpoint.requests)


def test_a_family_subscription_filters_by_type(api, run_commits, endpoint):
    subscribe(api, endpoint, "payment.*")
    capture(api, run_commits)
    assert endpoint.types() == ["payment.captured"]


def test_it_retries_a_failed_delivery_with_exponential_backoff(api, run_commits, endpoint):
    sub = subscribe(api, endpoint, "order.validated")
    for status in (500, 503):
        endpoint.statuses.put(status)
    capture(api, run_commits)
    delivery = WebhookDelivery.objects.get()
    first_wait = delivery.next_attempt_at - timezone.now()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert timedelta(seconds=30) < first_wait <= timedelta(minutes=2)
    assert run_commits(webhooks_send_due) == 0, "not due yet"
    make_due()
    run_commits(webhooks_send_due)
    delivery.refresh_from_db()
    second_wait = delivery.next_attempt_at - timezone.now()
    assert (delivery.attempts, delivery.last_status_code) == (2, 503)
    assert second_wait > first_wait, "the wait grows"
    make_due()
    run_commits(webhooks_send_due)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("succeeded", 3)
    assert [a.status_code for a in delivery.attempt_log.all()] == [500, 503, 200]
    assert all(a.duration_ms is not None for a in delivery.attempt_log.all())
    assert len({r["headers"]["OMS-Event-Id"] for r in endpoint.requests}) == 1, "the same event each time"
    sub.refresh_from_db()
    assert (sub.consecutive_failures, sub.failing_since, sub.retry_at) == (0, None, None)


def test_a_failing_endpoint_gets_one_probe_at_a_time_and_its_backlog_flows_after(api, run_commits, endpoint):
    subscribe(api, endpoint, "*")
    endpoint.default_status = 500
    capture(api, run_commits)
    failed_at_once = len(endpoint.requests)
    assert failed_at_once >= 1
    capture(api, run_commits, external_id="SECOND")
    assert len(endpoint.requests) == failed_at_once, "new events wait for the endpoint's next probe"
    make_due()
    run_commits(webhooks_send_due)
    assert len(endpoint.requests) == failed_at_once + 1, "one probe per run while failing"
    endpoint.default_status = 200
    make_due()
    run_commits(webhooks_send_due)
    assert WebhookDelivery.objects.exclude(status="succeeded").count() == 0, "the backlog followed the probe"
    assert len(set(endpoint.types())) >= 4


def test_it_disables_a_subscription_failing_for_24_hours_and_alerts_the_merchants_csr(api, run_commits, endpoint):
    sub = subscribe(api, endpoint, "order.*")
    endpoint.default_status = 500
    capture(api, run_commits)
    assert WebhookSubscription.objects.get(pk=sub.pk).active
    # A day of failures later (the clock is moved, not waited for):
    WebhookSubscription.objects.filter(pk=sub.pk).update(failing_since=timezone.now() - timedelta(hours=24, minutes=1))
    make_due()
    run_commits(webhooks_send_due)
    sub.refresh_from_db()
    assert (sub.active, "24 hours" in sub.disabled_reason) == (False, True)
    assert set(sub.deliveries.values_list("status", flat=True)) == {"failed"}
    alert = OpsException.objects.get(type="webhook_disabled")
    assert (alert.merchant, alert.severity, alert.status) == (api.merchant, "high", "open")
    assert endpoint.url in alert.message
    # Nothing more is sent to it...
    sent = len(endpoint.requests)
    capture(api, run_commits, external_id="LATER")
    assert len(endpoint.requests) == sent
    # ...until the merchant fixes it and turns it back on: the exception closes.
    endpoint.default_status = 200
    response = api.client.patch(f"/api/v1/webhooks/{sub.pk}/", {"active": True}, format="json")
    assert (response.json()["active"], response.json()["consecutive_failures"]) == (True, 0)
    assert OpsException.objects.get(pk=alert.pk).status == "resolved"


def test_a_delivery_gives_up_after_its_retry_window(api, run_commits, endpoint):
    subscribe(api, endpoint, "order.validated")
    endpoint.default_status = 500
    capture(api, run_commits)
    WebhookDelivery.objects.update(give_up_at=timezone.now() - timedelta(seconds=1))
    make_due()
    run_commits(webhooks_send_due)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)


def test_a_replay_sends_the_same_event_again_as_a_new_delivery(api, run_commits, endpoint):
    sub = subscribe(api, endpoint, "order.validated")
    capture(api, run_commits)
    original = WebhookDelivery.objects.get()
    replay = run_commits(webhook_delivery_replay, delivery=original, actor=Actor.system("test"))
    replay.refresh_from_db()
    assert (replay.status, replay.replay_of_id) == ("succeeded", original.pk)
    first, second = endpoint.requests
    assert first["body"] == second["body"]
    assert first["headers"]["OMS-Delivery-Id"] != second["headers"]["OMS-Delivery-Id"]
    assert signing.verify(sub.secret, second["headers"]["OMS-Signature"], second["body"])
    WebhookSubscription.objects.filter(pk=sub.pk).update(active=False)
    with pytest.raises(Conflict):
        webhook_delivery_replay(delivery=original, actor=Actor.system("test"))


def test_a_redirect_is_a_failure(api, run_commits, endpoint):
    subscribe(api, endpoint, "order.validated")
    endpoint.statuses.put(302)
    capture(api, run_commits)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("pending", 302)


def test_production_refuses_endpoints_on_private_addresses(api, run_commits, endpoint, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    subscribe(api, endpoint, "order.validated")
    capture(api, run_commits)
    assert endpoint.requests == []
    assert "private address" in WebhookDelivery.objects.get().last_error


def test_a_hanging_webhook_endpoint_does_not_delay_the_e_mail(api, run_commits, endpoint, smtp_server, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 2
    subscribe(api, endpoint, "order.validated")
    seen, release = {}, threading.Event()

    def hang():
        seen["mail_arrived"] = smtp_server.arrived.wait(timeout=10)
        release.wait(timeout=10)  # and keep hanging past the webhook timeout

    endpoint.before_answer = hang
    capture(api, run_commits)
    assert seen["mail_arrived"], "the e-mail went out while the endpoint was still hanging"
    assert EmailLog.objects.get(template="order_confirmation").status == "sent"
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "pending"
    assert "timed out" in delivery.last_error
    release.set()


def documented_verify():
    """The verify() of the Python example in docs/NOTIFICATIONS.md, run as a merchant would."""
    text = (Path(settings.BASE_DIR) / "docs" / "NOTIFICATIONS.md").read_text()
    [code] = [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "def verify(" in block]
    namespace: dict = {}
    exec(compile(code, "docs/NOTIFICATIONS.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


def test_the_documented_example_verifies_a_real_delivery_and_refuses_a_tampered_one(api, run_commits, endpoint):
    verify = documented_verify()
    sub = subscribe(api, endpoint, "order.validated")
    capture(api, run_commits)
    [request] = endpoint.requests
    header, raw = request["headers"]["OMS-Signature"], request["body"]
    assert verify(sub.secret, header, raw)
    assert not verify(sub.secret, header, raw.replace(b'"merchant":"acme"', b'"merchant":"evil"'))
    assert not verify(sub.secret, header, raw + b" ")
    assert not verify("whsec_wrong", header, raw)


def test_a_low_stock_crossing_posts_the_stock_level_and_the_exception_as_their_payloads_build_them(
    api, run_commits, endpoint
):
    """A stock level and an exception have no API page: their webhook objects come from the same
    builders as their event payloads (oms/payloads.py), an exception's with when it opened."""
    subscribe(api, endpoint, "inventory.low_stock", "exception.raised")
    stock = StockLevelFactory(product=api.red, node=NodeFactory(code="DC-LOW", merchants=[api.merchant]), on_hand=10)
    actor = Actor.system("test")
    stock_settings_update(stock=stock, actor=actor, reorder_threshold=5)
    run_commits(stock_adjust, product=api.red, node=stock.node, quantity=-6, actor=actor, reason="damaged")
    posted = {event["type"]: event for event in endpoint.events()}
    low = posted["inventory.low_stock"]
    assert low["object_type"] == "stock_level"
    assert low["object"] == low["payload"]
    assert (low["payload"]["sku"], low["payload"]["node"], low["payload"]["atp"]) == ("TSHIRT-RED-M", "DC-LOW", 4)
    assert low["payload"]["reorder_threshold"] == 5
    raised = posted["exception.raised"]
    exc = OpsException.objects.get(type="low_stock")
    assert raised["object_type"] == "exception"
    assert raised["object"] == {**raised["payload"], "created_at": exc.created_at.isoformat(), "resolved_at": None}
    assert (raised["payload"]["type"], raised["payload"]["status"]) == ("low_stock", "open")
