"""Products (SKUs) and fulfilment nodes. Stock levels and the ledger build on these."""

from __future__ import annotations

from django.db import models

from oms.models import Merchant


class Product(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="products")
    sku = models.CharField("SKU", max_length=64)
    name = models.CharField(max_length=255)
    barcode = models.CharField(max_length=64, blank=True, help_text="Primary GTIN/UPC/EAN.")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["merchant", "sku"]
        constraints = [models.UniqueConstraint(fields=["merchant", "sku"], name="product_unique_sku")]

    def __str__(self) -> str:
        return self.sku


class Node(models.Model):
    """A fulfilment location: distribution centre, store or drop-ship vendor."""

    class Type(models.TextChoices):
        DC = "dc", "Distribution centre"
        STORE = "store", "Store"
        DROPSHIP = "dropship", "Drop-ship vendor"

    class Capability(models.TextChoices):
        SHIP = "ship"
        PICKUP = "pickup"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=Type.choices)
    # The merchant that owns and manages it (its stores, its vendors); empty for shared nodes.
    owner = models.ForeignKey(Merchant, null=True, blank=True, on_delete=models.CASCADE, related_name="owned_nodes")
    merchants = models.ManyToManyField(Merchant, related_name="nodes", blank=True)
    line1 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=50, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    capabilities = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def can(self, capability: str) -> bool:
        return capability in self.capabilities
