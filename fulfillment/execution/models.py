"""Per-merchant fulfilment settings and per-node working settings (how a node gets its work)."""

from __future__ import annotations

from django.db import models

from inventory.models import Node
from oms.models import Merchant

__all__ = ["FulfillmentSettings", "NodeApiKey", "NodeProfile", "RateShopPolicy"]


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
