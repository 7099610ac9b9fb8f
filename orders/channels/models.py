"""Channel connections, what they learned, their sync runs, incoming webhooks and outgoing pushes."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django_celery_beat.models import PeriodicTask

from oms.models import Channel, Merchant


class ChannelConnection(models.Model):
    """How the OMS talks to one sales channel's platform (one connection per channel)."""

    class Kind(models.TextChoices):
        SHOPIFY = "shopify", "Shopify"
        WOOCOMMERCE = "woocommerce", "WooCommerce"
        FEED = "feed", "JSON/CSV feed"

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="channel_connections")
    channel = models.OneToOneField(Channel, on_delete=models.CASCADE, related_name="connection")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    base_url = models.URLField(max_length=500, help_text="The shop's address, or the feed's URL.")
    # Fernet token of the credentials (orders.channels.crypto); never shown after saving.
    credentials = models.TextField(blank=True, editable=False)
    active = models.BooleanField(default=True)
    pull_every_seconds = models.PositiveIntegerField(default=300, help_text="How often the scheduled pull runs.")
    periodic_task = models.OneToOneField(PeriodicTask, null=True, blank=True, on_delete=models.SET_NULL)
    # Mapping options (docs/CHANNELS.md): sku_field, service_level, service_levels, tax_handling,
    # payment_gateway, locations {platform location id: [node codes]}, feed_format, feed_fields.
    options = models.JSONField(default=dict, blank=True)
    # Orders changed up to here are committed; the next pull starts an overlap window before it.
    cursor = models.DateTimeField(null=True, blank=True)
    # A run claims the connection by setting this (compare-and-set); a stale claim expires.
    run_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    paused_until = models.DateTimeField(null=True, blank=True, help_text="Rate-limited: no pull before this.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["merchant", "channel__code"]

    def __str__(self) -> str:
        return f"{self.channel} ({self.get_kind_display()})"


class ChannelSkuMap(models.Model):
    """A SKU's ids on the platform: learned from pulled orders, editable."""

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="sku_map")
    sku = models.CharField(max_length=64)
    # Platform ids are kept as text: 64-bit values stay exact whatever reads them.
    product_id = models.CharField(max_length=40, blank=True)
    variant_id = models.CharField(max_length=40, blank=True, help_text="Shopify variant / WooCommerce variation.")
    inventory_item_id = models.CharField(max_length=40, blank=True, help_text="Shopify only.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "SKU map entry"
        verbose_name_plural = "SKU map"
        constraints = [models.UniqueConstraint(fields=["connection", "sku"], name="channel_sku_once")]
        indexes = [models.Index(fields=["connection", "variant_id"], name="channel_sku_by_variant")]

    def __str__(self) -> str:
        return f"{self.sku} -> {self.variant_id or self.product_id}"


class SyncRun(models.Model):
    """One pull: what it fetched and what became of each order."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        PAUSED = "paused", "paused (rate-limited)"
        FAILED = "failed"

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule"
        MANUAL = "manual", "sync now"
        WEBHOOK = "webhook"

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="runs")
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.SCHEDULE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    pages = models.PositiveIntegerField(default=0)
    fetched = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # [{"external_id", "name", "errors": [{"field", "code", "message"}]}] for rejected orders.
    rejections = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["connection", "-started_at"], name="syncrun_recent")]

    def __str__(self) -> str:
        return f"{self.connection} run {self.pk} ({self.status})"

    @property
    def duration(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 3)


class ChannelWebhook(models.Model):
    """A webhook the platform sent: stored by one INSERT, worked by a job."""

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="webhooks")
    webhook_id = models.CharField(max_length=100)
    topic = models.CharField(max_length=60, blank=True)
    body = models.TextField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)

    class Meta:
        constraints = [
            # The platform's delivery id: a replay of the same delivery is ignored.
            models.UniqueConstraint(fields=["connection", "webhook_id"], name="channel_webhook_once")
        ]
        indexes = [
            models.Index(fields=["received_at"], name="channel_webhook_todo", condition=Q(processed_at__isnull=True))
        ]

    def __str__(self) -> str:
        return f"{self.topic or 'webhook'} {self.webhook_id}"


class ChannelPush(models.Model):
    """An update to send to the platform, retried from the database until it lands."""

    class Kind(models.TextChoices):
        AVAILABILITY = "availability"
        FULFILLMENT = "fulfillment"
        CANCELLATION = "cancellation"
        LINE_CANCELLATION = "line_cancellation", "partial cancellation"
        REFUND = "refund"
        CAPTURE = "capture"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"  # rejected by the platform, or out of attempts: an exception is open

    connection = models.ForeignKey(ChannelConnection, on_delete=models.CASCADE, related_name="pushes")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "channel pushes"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["next_attempt_at"], name="channel_push_due", condition=Q(status="pending"))]

    def __str__(self) -> str:
        return f"{self.kind} push {self.pk} to {self.connection}"
