"""Payment data besides the Payment itself (orders.models): gateway calls, refunds, the
merchant's capture settings and the sandbox gateway's own ledger."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

from oms.models import Merchant
from oms.money import money_text

__all__ = ["CaptureTiming", "MerchantPaymentSettings", "PaymentTransaction", "Refund", "SandboxLedgerEntry"]


class CaptureTiming(models.TextChoices):
    BEFORE_ALLOCATION = "before_allocation", "Before allocation (ready once captured)"
    AT_RELEASE = "at_release", "At release to the node"
    PER_SHIPMENT = "per_shipment", "Per shipment (partial capture of what ships)"


class MerchantPaymentSettings(models.Model):
    """When an `authorize` order's payment is captured, and how hard a capture is retried."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="payment_settings")
    capture_timing = models.CharField(
        max_length=20, choices=CaptureTiming.choices, default=CaptureTiming.BEFORE_ALLOCATION
    )
    max_attempts = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Gateway calls per operation on retryable errors; empty: the site default."
    )
    reauthorize_hours_before = models.PositiveSmallIntegerField(
        default=24, help_text="Re-authorize (or hold) this long before an authorization expires."
    )

    class Meta:
        verbose_name = "merchant payment settings"
        verbose_name_plural = "merchant payment settings"

    def __str__(self) -> str:
        return f"Payment settings of {self.merchant}"


class Refund(models.Model):
    """Money given back on an order; sent to the gateway as one refund per payment tendered."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="refunds")
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    tax_amount = models.DecimalField(max_digits=12, decimal_places=3, default=Decimal(0))
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500)
    lines = models.JSONField(default=list, blank=True, help_text="[{line, sku, quantity}] when given")
    # What the refund is for ("returns.return:12", a client's reference...): asking twice for the
    # same source is one refund (refund_create), however the requests interleave.
    source = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_positive"),
            models.UniqueConstraint(
                fields=["order", "source"], condition=~Q(source="") & ~Q(status="failed"), name="refund_once_per_source"
            ),
        ]

    def __str__(self) -> str:
        return f"Refund {money_text(self.amount, self.currency)} on {self.order_id}"


class PaymentTransaction(models.Model):
    """One call to a payment gateway (or a fact the channel reported): its outcome and cost.

    A row in `pending` is a call about to be made (or whose outcome is unknown). Retries of a
    call that timed out are new rows carrying the same idempotency key, so the gateway moves the
    money at most once however often we ask.
    """

    class Kind(models.TextChoices):
        AUTHORIZE = "authorize"
        REAUTHORIZE = "reauthorize"
        CAPTURE = "capture"
        VOID = "void"
        REFUND = "refund"

    class Outcome(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        DECLINED = "declined"
        ERROR = "error"  # retryable (timeout, gateway down); a later row retries
        CANCELLED = "cancelled"  # never sent: superseded (e.g. the order was cancelled)

    class Source(models.TextChoices):
        GATEWAY = "gateway"
        CHANNEL = "channel"  # reported by the sales channel at order capture; no call made

    payment = models.ForeignKey("orders.Payment", on_delete=models.CASCADE, related_name="transactions")
    refund = models.ForeignKey(Refund, null=True, blank=True, on_delete=models.CASCADE, related_name="transactions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.GATEWAY)
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3)
    token = models.CharField(max_length=255, help_text="The gateway token the call used.")
    idempotency_key = models.CharField(max_length=100, db_index=True)
    # A caller's reference for the operation (e.g. a shipment): asking twice is one operation.
    reference = models.CharField(max_length=100, blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    gateway_reference = models.CharField(max_length=255, blank=True)
    decline_code = models.CharField(max_length=60, blank=True)
    message = models.CharField(max_length=500, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["payment", "id"]
        constraints = [
            # One pending call per operation: two jobs preparing the same capture share one row.
            models.UniqueConstraint(
                fields=["idempotency_key"], condition=Q(outcome="pending"), name="txn_one_pending_per_key"
            ),
        ]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="txn_due", condition=Q(outcome="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {money_text(self.amount, self.currency)}: {self.outcome}"


class SandboxLedgerEntry(models.Model):
    """The sandbox gateway's own books, as a processor keeps them: one row per request it
    processed, keyed by idempotency key, so a double capture would show as two rows."""

    class Kind(models.TextChoices):
        AUTHORIZE = "authorize"
        CAPTURE = "capture"
        VOID = "void"
        REFUND = "refund"
        TIMEOUT = "timeout"  # a request that "timed out" before processing (tok_timeout_once)

    idempotency_key = models.CharField(max_length=140, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    token = models.CharField(max_length=255, db_index=True)
    amount = models.DecimalField(max_digits=12, decimal_places=3)
    currency = models.CharField(max_length=3)
    approved = models.BooleanField()
    reference = models.CharField(max_length=64)
    decline_code = models.CharField(max_length=60, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "sandbox ledger entry"
        verbose_name_plural = "sandbox ledger"
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {money_text(self.amount, self.currency)} {self.token}"
