"""Demo notification settings and a webhook subscription whose endpoint is down (nothing
listens on port 9), so the delivery log and the failing-endpoint handling have something to show."""

from __future__ import annotations

from notifications.models import NotificationSettings, WebhookSubscription
from oms.models import Merchant

DEMO_ENDPOINT = "http://127.0.0.1:9/demo-webhooks"


def seed_notifications(merchant: Merchant) -> None:
    NotificationSettings.objects.get_or_create(
        merchant=merchant,
        defaults={
            "sender_name": "Demo Store",
            "reply_to": "care@example.com",
            "support_url": "https://example.com/help",
        },
    )
    WebhookSubscription.objects.get_or_create(
        merchant=merchant,
        url=DEMO_ENDPOINT,
        defaults={"event_types": ["order.validated", "shipment.shipped", "shipment.delivered"],
                  "description": "Demo ERP (offline)"},
    )  # fmt: skip
