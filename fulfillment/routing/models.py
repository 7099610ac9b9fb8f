"""Routing data: versioned policies (strategies and drop-ship rules), per-(SKU, node) routing
flags, the zone cost table, decisions, exclusions, daily node load and backorders.

Imported by fulfillment/models.py, so these are models of the `fulfillment` app.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models import Q

from inventory.models import Node, Product
from oms.models import Merchant
from orders.models import Order, ServiceLevel

__all__ = [
    "Backorder",
    "DropShipRule",
    "FailureAction",
    "NodeDailyLoad",
    "RoutingDecision",
    "RoutingExclusion",
    "RoutingPolicy",
    "RoutingPolicyVersion",
    "RoutingStrategy",
    "ShippingZoneRate",
    "SkuNodeRule",
]


class Immutable(models.Model):
    """A row that is written once and never changed (a policy version and its parts)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError(f"A saved {self._meta.verbose_name} is never changed; save a new policy version.")
        super().save(*args, **kwargs)


class RoutingPolicy(models.Model):
    """A merchant's routing policy; what it says lives in its versions (the newest applies)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="routing_policies")
    name = models.CharField(max_length=100)
    active = models.BooleanField(default=True, help_text="The policy routing uses (one per merchant).")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "routing policies"
        ordering = ["merchant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "name"], name="routing_policy_unique_name"),
            models.UniqueConstraint(fields=["merchant"], condition=Q(active=True), name="routing_policy_one_active"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant.code}/{self.name}"


class RoutingPolicyVersion(Immutable):
    """One saved state of a policy: never changed, only superseded by a newer number."""

    policy = models.ForeignKey(RoutingPolicy, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    comment = models.TextField(help_text="What changed and why.")
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="routing_version_once")]

    def __str__(self) -> str:
        return f"{self.policy.name} v{self.number}"


class FailureAction(models.TextChoices):
    NEXT_STRATEGY = "next_strategy", "Try the next strategy"
    BACKORDER = "backorder", "Backorder"
    HOLD = "hold", "Hold for a CSR"
    CANCEL_AFTER_DAYS = "cancel_after_days", "Backorder, cancel unfilled lines after N days"


class RoutingStrategy(Immutable):
    """One strategy of a policy version: conditions, filters, ranking, split limits, failure.

    `conditions`, `filters` and `ranking` are JSON objects; their keys are documented in
    docs/ROUTING.md and checked by fulfillment.routing.spec when the version is saved.
    """

    version = models.ForeignKey(RoutingPolicyVersion, on_delete=models.PROTECT, related_name="strategies")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100)
    conditions = models.JSONField(default=dict, blank=True)
    filters = models.JSONField(default=dict, blank=True)
    ranking = models.JSONField(default=dict, blank=True)
    max_shipments = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="1 = never split; empty = no limit."
    )
    ship_complete = models.BooleanField(default=False, help_text="The whole order from one node, or it waits.")
    ship_complete_channels = models.JSONField(default=list, blank=True, help_text="Channel codes that ship complete.")
    keep_bundles = models.BooleanField(default=True, help_text="Lines of one bundle ship from one node.")
    failure_action = models.CharField(max_length=20, choices=FailureAction.choices, default=FailureAction.BACKORDER)
    failure_days = models.PositiveSmallIntegerField(null=True, blank=True, help_text="For cancel_after_days.")

    class Meta:
        verbose_name_plural = "routing strategies"
        ordering = ["version", "position"]
        constraints = [models.UniqueConstraint(fields=["version", "position"], name="routing_strategy_position")]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class DropShipRule(Immutable):
    """Lines of a SKU (or of products with a tag) go to a drop-ship vendor node."""

    version = models.ForeignKey(RoutingPolicyVersion, on_delete=models.PROTECT, related_name="dropship_rules")
    sku = models.CharField("SKU", max_length=64, blank=True)
    tag = models.CharField(max_length=64, blank=True)
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["version", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(sku="") | ~Q(tag=""), name="dropship_rule_sku_or_tag"),
        ]

    def __str__(self) -> str:
        return f"{self.sku or '#' + self.tag} -> {self.node_id}"


class SkuNodeRule(models.Model):
    """Per (SKU, node): whether routing may allocate the SKU there (e.g. display-only stock)."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    may_route = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "SKU routing flag"
        constraints = [models.UniqueConstraint(fields=["product", "node"], name="sku_node_rule_once")]

    def __str__(self) -> str:
        return f"{self.product} @ {self.node}: {'may' if self.may_route else 'may not'} route"


class ShippingZoneRate(models.Model):
    """The per-zone cost table routing estimates shipping with (until carrier rate cards plug in).

    A row without a merchant is the default for everyone; a merchant's own row overrides it.
    """

    merchant = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    service_level = models.CharField(max_length=20, choices=ServiceLevel.choices)
    zone = models.PositiveSmallIntegerField(help_text="1 (local) to 8 (farthest).")
    cost = models.DecimalField(max_digits=10, decimal_places=2)
    transit_days = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["merchant", "service_level", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["merchant", "service_level", "zone"], name="zone_rate_once"),
            models.UniqueConstraint(
                fields=["service_level", "zone"], condition=Q(merchant__isnull=True), name="zone_rate_default_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.service_level} zone {self.zone}: {self.cost} / {self.transit_days} d"


class RoutingDecision(models.Model):
    """One routing run of one order: inputs seen, every candidate and rejection, the plan."""

    class Outcome(models.TextChoices):
        ALLOCATED = "allocated"
        PARTIALLY_ALLOCATED = "partially_allocated"
        BACKORDERED = "backordered"
        HELD = "held"

    class Trigger(models.TextChoices):
        READY = "ready", "Order ready"
        RETRY = "retry", "Backorder retry"
        RECEIPT = "receipt", "Stock received"
        REJECTION = "rejection", "Node rejected"
        SHORT_PICK = "short_pick", "Short pick"
        SHORTFALL = "shortfall", "Stock shortfall"
        CSR = "csr", "Asked by a CSR"
        HOLD_RESOLVED = "hold_resolved", "Hold resolved"
        SWEEP = "sweep", "Sweeper"
        AMENDMENT = "amendment", "Order amended"

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="routing_decisions")
    trigger = models.CharField(max_length=20, choices=Trigger.choices)
    policy_version = models.ForeignKey(
        RoutingPolicyVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    policy_label = models.CharField(max_length=150, help_text="The policy version, or the built-in default.")
    strategy = models.CharField(max_length=100, blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    explanation = models.TextField()
    details = models.JSONField(default=dict)
    shipments = models.PositiveSmallIntegerField(default=0)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal(0))
    promise_met = models.BooleanField(null=True)
    mean_distance_km = models.FloatField(null=True, blank=True)
    nodes = models.JSONField(default=list, help_text="Codes of the nodes in the plan.")
    races_lost = models.PositiveSmallIntegerField(default=0, help_text="Re-plans after losing stock to another order.")
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["order", "created_at", "id"]

    def __str__(self) -> str:
        return f"routing of {self.order_id} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class RoutingExclusion(models.Model):
    """A node routing must not use again for this order (it rejected its part)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="routing_exclusions")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["order", "node"], name="routing_exclusion_once")]

    def __str__(self) -> str:
        return f"{self.node_id} excluded for {self.order_id}"


class NodeDailyLoad(models.Model):
    """Fulfilment orders a capacity-limited node took on one (node-local) day.

    Claimed with one conditional UPDATE (`orders < capacity`), like a stock reservation, so two
    workers cannot both take a node's last slot.
    """

    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    orders = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["node", "day"], name="node_load_once_per_day")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.day}: {self.orders}"


class Backorder(models.Model):
    """An order waiting for stock: when to try it again, and when to give its lines up."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="routing_backorder")
    created_at = models.DateTimeField(auto_now_add=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    cancel_at = models.DateTimeField(null=True, blank=True, help_text="Unfilled lines are cancelled then.")

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["next_attempt_at"], name="backorder_due"),
            models.Index(fields=["cancel_at"], name="backorder_expiry", condition=Q(cancel_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"backorder of {self.order_id}"
