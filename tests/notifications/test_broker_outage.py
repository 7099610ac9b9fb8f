"""With the broker down, nothing is lost: the outbox sweeper and the beat jobs send it afterwards.

A real unreachable broker (tests/conftest.py `unreachable_broker`) and real commits."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from notifications import signing
from notifications.models import EmailLog, WebhookDelivery
from notifications.services.emails import emails_send_due
from notifications.services.webhooks import webhooks_send_due
from oms import outbox
from oms.models import OutboxEvent
from tests.conftest import unreachable_broker
from tests.factories import WebhookSubscriptionFactory
from tests.payments.helpers import body

pytestmark = pytest.mark.django_db(transaction=True)


def capture(api, **changes):
    response = api.client.post("/api/v1/orders/", body(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def age_everything():
    """Move the clock past the sweeper's grace period instead of sleeping through it."""
    past = timezone.now() - timedelta(hours=1)
    OutboxEvent.objects.update(created_at=past)
    EmailLog.objects.filter(status="pending").update(next_attempt_at=past)
    WebhookDelivery.objects.filter(status="pending").update(next_attempt_at=past)


def test_an_order_change_made_while_the_broker_is_down_is_e_mailed_and_posted_after_it_returns(
    api, smtp_server, endpoint
):
    sub = WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=["order.cancelled"])
    order = capture(api)
    assert smtp_server.subjects() == [f"Thank you for your order {order['number']}"]
    with unreachable_broker():
        response = api.client.post(
            f"/api/v1/orders/{order['number']}/cancel/", {"reason": "Customer called"}, format="json"
        )
        assert response.status_code == 200, response.json()
    event = OutboxEvent.objects.get(type="order.cancelled")
    assert event.dispatched_at is None, "the event waits in the outbox"
    assert endpoint.requests == []
    assert len(smtp_server.messages) == 1
    # The broker is back; the beat job sweeps the outbox.
    age_everything()
    outbox.relay()
    assert f"Your order {order['number']} was cancelled" in smtp_server.subjects()
    [request] = endpoint.requests
    assert signing.verify(sub.secret, request["headers"]["OMS-Signature"], request["body"])
    assert endpoint.events()[0]["id"] == str(event.pk)


def test_send_jobs_that_never_reached_the_broker_are_sent_by_the_beat_jobs(api, smtp_server, endpoint):
    WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=["order.validated"])
    with unreachable_broker():
        order = capture(api)
        age_everything()
        outbox.relay()  # the consumers ran, but their send jobs could not be queued
    email = EmailLog.objects.get(template="order_confirmation")
    delivery = WebhookDelivery.objects.get()
    assert (email.status, email.attempts, delivery.status, delivery.attempts) == ("pending", 0, "pending", 0)
    assert smtp_server.messages == []
    assert endpoint.requests == []
    age_everything()
    assert emails_send_due() == 1
    assert webhooks_send_due() == 1
    assert smtp_server.subjects() == [f"Thank you for your order {order['number']}"]
    assert endpoint.types() == ["order.validated"]
    # And nothing goes twice when the sweeps run again.
    age_everything()
    outbox.relay()
    emails_send_due()
    webhooks_send_due()
    assert (len(smtp_server.messages), len(endpoint.requests)) == (1, 1)
