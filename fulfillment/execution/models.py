"""Per-merchant fulfilment settings and per-node working settings (how a node gets its work)."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from inventory.models import Node
from oms.models import Merchant

__all__ = ["FulfillmentSettings", "NodeApiKey", "NodeMessage", "NodeProfile", "RateShopPolicy"]


class RateShopPolicy(models.TextChoices):
    CHEAPEST = "cheapest"
    FASTEST = "fastest"
    MOST_RELIABLE = "most_reliable"


class FulfillmentSettings(models.Model):
    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="fulfillment_settings")
    remorse_minutes = models.PositiveIntegerField(
        default=0, help_text="Wait this long after the order was placed before releasing it to nodes."
    )
    rate_shop_policy = models.CharField(max_length=20, choices=RateShopPolicy.choices, default=RateShopPolicy.CHEAPEST)
    carrier_scan_hours = models.PositiveIntegerField(
        default=24, help_text="A label with no carrier scan after this many hours is a carrier miss."
    )
    pickup_hold_days = models.PositiveIntegerField(
        default=7, help_text="A pick-up order not collected within this many days is cancelled."
    )

    class Meta:
        verbose_name = "fulfilment settings"
        verbose_name_plural = "fulfilment settings"

    def __str__(self) -> str:
        return f"Fulfilment settings of {self.merchant}"


class NodeProfile(models.Model):
    """How a node works its fulfilment orders: an admin queue, or a WMS sent signed messages."""

    class Mode(models.TextChoices):
        QUEUE = "queue", "Admin queue and API"
        INTEGRATED = "integrated", "Integrated (WMS): signed messages to its endpoint"

    node = models.OneToOneField(Node, on_delete=models.CASCADE, related_name="fulfillment_profile")
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.QUEUE)
    endpoint_url = models.URLField(blank=True, help_text="Where release, cancel and hold messages are POSTed.")
    secret = models.CharField(max_length=128, blank=True, help_text="HMAC-SHA256 key signing those messages.")
    pick_sla_hours = models.PositiveIntegerField(default=24, help_text="Released to packed within this many hours.")

    class Meta:
        verbose_name = "node fulfilment profile"

    def __str__(self) -> str:
        return f"{self.node} ({self.get_mode_display()})"

    @property
    def integrated(self) -> bool:
        return self.mode == self.Mode.INTEGRATED and bool(self.endpoint_url)


class NodeMessage(models.Model):
    """One message to an integrated node's system about one fulfilment order (release, cancel
    request, cancellation, hold, resume).

    The outbox consumer writes it in the relay's transaction; a job claims it (SKIP LOCKED) and
    POSTs it after that transaction, never inside it. A failure is retried at `next_attempt_at`
    (doubling backoff) until NODE_MESSAGE_MAX_ATTEMPTS, then it fails and raises an exception.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"  # gave up after NODE_MESSAGE_MAX_ATTEMPTS

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="messages")
    fulfillment_order = models.ForeignKey(
        "fulfillment.FulfillmentOrder", on_delete=models.CASCADE, related_name="node_messages"
    )
    event_id = models.UUIDField(help_text="The outbox event that caused it.")
    type = models.CharField(max_length=20)
    body = models.TextField(help_text="The JSON sent, byte for byte (the signature covers it).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A redelivered event writes each fulfilment order's message once.
            models.UniqueConstraint(fields=["event_id", "fulfillment_order"], name="node_message_once_per_event")
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="node_message_due", condition=Q(status__in=["pending", "sending"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} to {self.node_id} for fulfilment order {self.fulfillment_order_id}"


class NodeApiKey(models.Model):
    """A key for one node's own system (a WMS): it reaches the fulfilment orders at that node,
    whichever merchant they are for, and nothing else. Only a SHA-256 digest is stored."""

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="wms")
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "node API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.node})"
