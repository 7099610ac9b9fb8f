"""Customer e-mails and merchant webhooks: settings, logs and delivery state.

Both are fed by the outbox (notifications/consumers.py). Each e-mail and each webhook delivery
is a row with its own state, attempts and next-attempt time, so a failing SMTP server or
endpoint is retried on its own schedule by a beat job and never holds anything else up.
"""

from __future__ import annotations

import secrets
import uuid

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from oms.models import Merchant

COLOUR = RegexValidator(r"^#(?:[0-9a-fA-F]{3}){1,2}$", "A colour like #1a73e8.")


class NotificationSettings(models.Model):
    """A merchant's e-mail branding, sender and the messages it has switched off."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="notification_settings")
    sender_name = models.CharField(max_length=100, blank=True, help_text="Shown as the sender; empty: the merchant.")
    sender_email = models.EmailField(blank=True, help_text="From address; empty: the site's DEFAULT_FROM_EMAIL.")
    reply_to = models.EmailField(blank=True, help_text="Where customers' replies go (customer service).")
    logo_url = models.URLField(max_length=500, blank=True)
    primary_colour = models.CharField(max_length=7, default="#1f3a5f", validators=[COLOUR])
    accent_colour = models.CharField(max_length=7, default="#e07a1f", validators=[COLOUR])
    footer_text = models.TextField(blank=True, help_text="Legal address, opening hours… (plain text).")
    support_url = models.URLField(max_length=500, blank=True)
    order_status_url = models.CharField(
        max_length=500,
        blank=True,
        help_text="Link to the order on the store, with {number}, e.g. https://shop/o/{number}",
    )
    tracking_url_template = models.CharField(
        max_length=500,
        blank=True,
        help_text="Tracking link with {carrier} and {tracking_number}; empty: the carrier's own page when known.",
    )
    disabled_messages = models.JSONField(default=list, blank=True, help_text="Keys of messages not sent.")

    class Meta:
        verbose_name = "notification settings"
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"Notifications of {self.merchant}"


class EmailLog(models.Model):
    """One e-mail to one recipient for one event: rendered once, sent at most once.

    The unique (event, recipient, template) makes a redelivered event or job a no-op; `status`
    moves pending -> sending -> sent by compare-and-set, so two workers never both send it.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SENT = "sent"
        FAILED = "failed"  # gave up after EMAIL_MAX_ATTEMPTS
        SKIPPED = "skipped"  # the merchant switched this message off

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="email_logs")
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.CASCADE, related_name="email_logs"
    )
    event_id = models.UUIDField(help_text="The outbox event that caused it.")
    event_type = models.CharField(max_length=60)
    template = models.CharField(max_length=40)
    recipient = models.EmailField()
    sender = models.CharField(max_length=300)
    reply_to = models.EmailField(blank=True)
    subject = models.CharField(max_length=300)
    text_body = models.TextField()
    html_body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "e-mail"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["event_id", "recipient", "template"], name="email_once_per_event")
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="email_due", condition=Q(status__in=["pending", "sending"])),
            models.Index(fields=["merchant", "-created_at"], name="email_merchant_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.template} to {self.recipient}"

    @property
    def message_id(self) -> str:
        """A stable Message-ID: a resend after a crash mid-send carries the same one."""
        return f"<email-{self.pk}@oms.invalid>"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookSubscription(models.Model):
    """A merchant's endpoint and the event types it wants (names, `family.*` or `*`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhook_subscriptions")
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list)
    secret = models.CharField(max_length=100, default=new_secret)
    description = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    # Failures since the last success; `failing_since` is when the streak began.
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    # While failing, nothing is sent before this time, and then one delivery at a time (a probe).
    retry_at = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant", "created_at"]
        indexes = [models.Index(fields=["merchant"], name="webhook_active", condition=Q(active=True))]

    def __str__(self) -> str:
        return f"{self.merchant} → {self.url}"


class WebhookDelivery(models.Model):
    """One event sent (and retried) to one subscription; a replay is a new row."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENDING = "sending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"  # gave up: the retry window passed

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    event_id = models.UUIDField()
    event_type = models.CharField(max_length=60)
    body = models.TextField(help_text="The JSON sent, byte for byte (the signature covers it).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    give_up_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    replay_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replays")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at"]
        constraints = [
            # A redelivered event fans out to each subscription once; replays are extra rows.
            models.UniqueConstraint(
                fields=["subscription", "event_id"], condition=Q(replay_of__isnull=True), name="webhook_once_per_event"
            )
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], name="webhook_due", condition=Q(status__in=["pending", "sending"])
            ),
            models.Index(fields=["event_id"], name="webhook_event"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription.url}"


class WebhookAttempt(models.Model):
    """One POST of a delivery: when, how long, and what the endpoint answered."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
