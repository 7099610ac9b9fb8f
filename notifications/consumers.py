"""The outbox consumers of notifications, each with its own delivery state per event.

`notifications.email` renders the customer e-mails an event sends; `notifications.webhooks`
fans every event out to the merchant's matching subscriptions. Neither touches the network: the
sending happens in their own jobs, so a slow SMTP server or endpoint holds up neither the
outbox nor the other consumer.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from notifications.messages import email_event_types
from notifications.models import WebhookSubscription
from notifications.services.emails import emails_for_event, emails_wanted
from notifications.services.webhooks import subscriptions_changed, webhooks_for_event, webhooks_wanted
from oms.events import ALL
from oms.models import OutboxEvent
from oms.outbox import register_consumer

EMAIL = "notifications.email"
WEBHOOKS = "notifications.webhooks"


def _emails(event: OutboxEvent) -> None:
    emails_for_event(event=event)


def _webhooks(event: OutboxEvent) -> None:
    webhooks_for_event(event=event)


def register() -> None:
    register_consumer(EMAIL, sorted(email_event_types()), _emails, has_work=emails_wanted)
    register_consumer(WEBHOOKS, [ALL], _webhooks, has_work=webhooks_wanted)
    post_save.connect(subscriptions_changed, sender=WebhookSubscription, dispatch_uid="webhook-subscriptions-cache")
    post_delete.connect(subscriptions_changed, sender=WebhookSubscription, dispatch_uid="webhook-subscriptions-cache")
