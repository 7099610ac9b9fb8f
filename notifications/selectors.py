"""Read queries of notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from notifications.models import EmailLog, WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms.errors import NotFound
from oms.events import EVENT_TYPES
from oms.models import Merchant, OutboxEvent


def subscriptions_of(*, merchant: Merchant) -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.filter(merchant=merchant).order_by("created_at", "id")


def subscription_get(*, merchant: Merchant, id: Any) -> WebhookSubscription:
    """The merchant's subscription; another merchant's is NotFound."""
    sub = WebhookSubscription.objects.filter(merchant=merchant, pk=id).first()
    if sub is None:
        raise NotFound(f"No webhook {id}.")
    return sub


def deliveries_of(*, subscription: WebhookSubscription) -> QuerySet[WebhookDelivery]:
    return (
        WebhookDelivery.objects.filter(subscription=subscription)
        .prefetch_related(Prefetch("attempt_log", WebhookAttempt.objects.order_by("number")))
        .order_by("-created_at", "-id")
    )


def event_types() -> list[dict[str, str]]:
    return [{"type": name, "description": text} for name, text in EVENT_TYPES.items()]


def emails_of_order(*, order_id: int) -> QuerySet[EmailLog]:
    return EmailLog.objects.filter(order_id=order_id).order_by("created_at")


def webhook_deliveries_of_order(*, order_id: int) -> QuerySet[WebhookDelivery]:
    """Deliveries of the events whose subject is the order (not those about its shipments)."""
    event_ids = OutboxEvent.objects.filter(subject_type="orders.order", subject_id=str(order_id)).values("pk")
    return WebhookDelivery.objects.filter(event_id__in=event_ids).select_related("subscription").order_by("created_at")
