"""What every app shares: tenancy (merchants, channels, API keys), the event outbox,
operational exceptions (alerts) and idempotency records for the API."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q


class Merchant(models.Model):
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    order_prefix = models.CharField(max_length=10, help_text="Prefix of this merchant's order numbers, e.g. DEMO.")
    # Last order number handed out; advanced by one conditional UPDATE (orders.numbering).
    order_sequence = models.PositiveBigIntegerField(default=0, editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Channel(models.Model):
    class Kind(models.TextChoices):
        WEB = "web", "Web store"
        MARKETPLACE = "marketplace", "Marketplace"
        POS = "pos", "Point of sale"
        API = "api", "API"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="channels")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.WEB)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["merchant", "code"]
        constraints = [models.UniqueConstraint(fields=["merchant", "code"], name="channel_unique_code")]

    def __str__(self) -> str:
        return f"{self.merchant.code}/{self.code}"


class ApiKey(models.Model):
    """A merchant's API key. Only a SHA-256 digest is stored; the key is shown once."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="default")
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.merchant.code})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class OutboxEvent(models.Model):
    """A domain event, written in the same transaction as the change it describes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=60, db_index=True)
    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["created_at"],
                name="outbox_undispatched",
                condition=Q(dispatched_at__isnull=True),
            ),
            models.Index(fields=["subject_type", "subject_id"], name="outbox_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.subject_type}:{self.subject_id}"


class OutboxDelivery(models.Model):
    """One consumer's handling of one event: its own state, so consumers fail independently."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        FAILED = "failed"  # gave up after OUTBOX_MAX_ATTEMPTS

    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    consumer = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "outbox deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "consumer"], name="delivery_once_per_consumer")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.consumer} <- {self.event_id}"


class OpsException(models.Model):
    """An operational alert about any object, worked by a person in the exception queue."""

    class Severity(models.TextChoices):
        LOW = "low"
        MEDIUM = "medium"
        HIGH = "high"
        CRITICAL = "critical"

    class Status(models.TextChoices):
        OPEN = "open"
        IN_PROGRESS = "in_progress"
        RESOLVED = "resolved"
        DISMISSED = "dismissed"

    OPEN_STATUSES = (Status.OPEN, Status.IN_PROGRESS)

    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions")
    type = models.CharField(max_length=60, db_index=True)
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.MEDIUM)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    subject_type = models.CharField(max_length=60)
    subject_id = models.CharField(max_length=64)
    subject_label = models.CharField(max_length=200, blank=True)
    message = models.TextField()
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    # The order it is about (directly, or through a shipment or fulfilment order): a plain id,
    # since oms sits below orders; its value raises the severity (oms.exception_policy).
    order_pk = models.BigIntegerField("order id", null=True, blank=True, db_index=True)
    order_number = models.CharField(max_length=32, blank=True)
    value = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    # SLA from the type's policy: someone must pick it up by the first, close it by the second.
    first_touch_due_at = models.DateTimeField(null=True, blank=True)
    resolve_due_at = models.DateTimeField(null=True, blank=True)
    first_touched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "exception"
        ordering = ["-created_at"]
        constraints = [
            # One open exception per (type, subject): raising it again while open is a no-op.
            models.UniqueConstraint(
                fields=["type", "subject_type", "subject_id"],
                condition=Q(status__in=["open", "in_progress"]),
                name="exception_open_once",
            )
        ]
        indexes = [
            models.Index(fields=["subject_type", "subject_id"], name="exception_subject"),
            # The queues read open exceptions by due time (breaching first).
            models.Index(
                fields=["resolve_due_at"], name="exception_open_due", condition=Q(status__in=["open", "in_progress"])
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type}: {self.subject_label or self.subject_id}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    def due_at(self) -> datetime | None:
        """The next SLA deadline: first touch until someone touched it, then resolution."""
        if not self.is_open:
            return None
        if self.first_touched_at is None and self.first_touch_due_at is not None:
            return min(self.first_touch_due_at, self.resolve_due_at or self.first_touch_due_at)
        return self.resolve_due_at


class ExceptionPolicy(models.Model):
    """How an exception type is worked: its severity, when a high order value raises it, and its
    SLA. Types without a row use the defaults in oms.exception_policy."""

    type = models.CharField(max_length=60, unique=True)
    title = models.CharField(max_length=100, help_text="How the queue names this type, e.g. 'Fraud review'.")
    severity = models.CharField(max_length=10, choices=OpsException.Severity.choices)
    high_value = models.DecimalField(
        max_digits=12, decimal_places=3, null=True, blank=True,
        help_text="An order worth at least this much (in its own currency) raises the severity one step.",
    )  # fmt: skip
    first_touch_minutes = models.PositiveIntegerField(help_text="Someone picks it up within this many minutes.")
    resolve_minutes = models.PositiveIntegerField(help_text="It is resolved within this many minutes.")

    class Meta:
        verbose_name = "exception policy"
        verbose_name_plural = "exception policies"
        ordering = ["type"]

    def __str__(self) -> str:
        return self.title or self.type


class IdempotencyRecord(models.Model):
    """A POST's Idempotency-Key: its claim while the first request runs, then the reply to replay.

    The reply is stored in the transaction of the business write (oms/idempotency.py), so both
    exist or neither does; `locked_until` is the claim's lease, after which a retry that finds no
    reply takes the key over. Purged after IDEMPOTENCY_RETENTION_HOURS by a beat job.
    """

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    # Also the claim's token: a takeover moves it, so the first holder's reply no longer matches.
    locked_until = models.DateTimeField(null=True)
    response_status = models.PositiveSmallIntegerField(null=True)
    # JSON as text: json.dumps escapes NUL as \u0000, which jsonb refuses (a 500 before).
    response_body = models.TextField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotency_key_once")]

    @property
    def in_progress(self) -> bool:
        return self.response_status is None

    def reply(self) -> tuple[int, Any]:
        """The stored (status, body)."""
        return self.response_status or 200, json.loads(self.response_body or "null")


class CacheVersion(models.Model):
    """A per-process cache's version: bumped where its rows change, so every process drops its
    copy at its next check (see oms.caches)."""

    name = models.CharField(max_length=100, primary_key=True)
    version = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
