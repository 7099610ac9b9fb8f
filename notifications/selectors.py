"""Read queries of notifications."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from notifications.models import EmailLog, WebhookAttempt, WebhookDelivery, WebhookSubscription
from oms.errors import NotFound
from oms.events import EVENT_TYPES
from oms.models import Merchant, OutboxEvent
from oms.refs import Ref


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


def emails_of_customer(*, merchant_id: int, customer_id: int, email: str, limit: int = 100) -> list[EmailLog]:
    """The newest messages to a customer: about their orders, or to their address."""
    found = EmailLog.objects.filter(Q(order__customer_id=customer_id) | Q(merchant_id=merchant_id, recipient=email))
    return list(found.select_related("order").order_by("-created_at")[:limit])


def webhook_deliveries_about(*, subjects: list[Ref]) -> QuerySet[WebhookDelivery]:
    """Deliveries of the events about any of `subjects` (an order, its fulfilment orders and
    shipments: `shipment.shipped` is about the shipment, yet belongs on the order's page)."""
    about = Q(pk__in=[])
    for ref in subjects:
        about |= Q(subject_type=ref.type, subject_id=ref.id)
    event_ids = OutboxEvent.objects.filter(about).values("pk")
    return WebhookDelivery.objects.filter(event_id__in=event_ids).select_related("subscription").order_by("created_at")
