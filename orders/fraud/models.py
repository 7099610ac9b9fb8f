"""Per-merchant fraud thresholds, deny lists and the stored decision of every screening."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from oms.models import Merchant

__all__ = ["DenyListEntry", "FraudDecision", "FraudSettings"]


class FraudSettings(models.Model):
    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="fraud_settings")
    enabled = models.BooleanField(default=True)
    review_threshold = models.PositiveIntegerField(default=50, help_text="Score above which the order is held.")
    reject_threshold = models.PositiveIntegerField(default=90, help_text="Score above which it is cancelled.")
    first_order_value = models.DecimalField(
        max_digits=12, decimal_places=3, default=Decimal(1000), help_text="A first order above this value scores."
    )
    velocity_orders = models.PositiveSmallIntegerField(
        default=4, help_text="This many orders (including this one) from one e-mail, token or address..."
    )
    velocity_minutes = models.PositiveIntegerField(default=60, help_text="...within this many minutes score.")
    score_first_order_value = models.PositiveSmallIntegerField(default=30)
    score_velocity = models.PositiveSmallIntegerField(default=40)
    score_country_mismatch = models.PositiveSmallIntegerField(default=25)
    score_disposable_email = models.PositiveSmallIntegerField(default=30)
    score_deny_list = models.PositiveSmallIntegerField(default=100)

    class Meta:
        verbose_name = "fraud settings"
        verbose_name_plural = "fraud settings"

    def __str__(self) -> str:
        return f"Fraud settings of {self.merchant}"


class DenyListEntry(models.Model):
    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail address"
        ADDRESS = "address", "Street address (line 1 + postal code)"
        POSTAL_CODE = "postal_code", "Postal code"

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="fraud_deny_list")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    value = models.CharField(max_length=255, help_text="Compared case- and space-insensitively.")
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "deny-list entry"
        verbose_name_plural = "deny list"
        constraints = [models.UniqueConstraint(fields=["merchant", "kind", "value"], name="deny_list_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class FraudDecision(models.Model):
    class Outcome(models.TextChoices):
        APPROVE = "approve"
        REVIEW = "review"
        REJECT = "reject"

    order = models.OneToOneField("orders.Order", on_delete=models.CASCADE, related_name="fraud_decision")
    score = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    # [{"rule": ..., "score": ..., "reason": ...}] for every rule that fired.
    rules = models.JSONField(default=list, blank=True)
    review_threshold = models.PositiveIntegerField()
    reject_threshold = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.outcome} ({self.score})"
