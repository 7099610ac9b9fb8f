"""Rate tables of the built-in tax provider and per-merchant tax settings."""

from __future__ import annotations

from decimal import Decimal

from django.db import models

from oms.models import Merchant

__all__ = ["TaxRate", "TaxSettings"]


class TaxSettings(models.Model):
    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, related_name="tax_settings")
    check_declared_tax = models.BooleanField(default=True)
    tolerance = models.DecimalField(
        max_digits=12,
        decimal_places=3,
        default=Decimal("0.05"),
        help_text="Declared tax may differ from the computed tax by this much before the order is held.",
    )

    class Meta:
        verbose_name = "tax settings"
        verbose_name_plural = "tax settings"

    def __str__(self) -> str:
        return f"Tax settings of {self.merchant}"


class TaxRate(models.Model):
    """A rate for a jurisdiction: the most specific match (region, longest postal prefix, tax
    code) wins. Empty region / prefix / tax code match anything."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="tax_rates")
    name = models.CharField(max_length=100)
    country = models.CharField(max_length=2)
    region = models.CharField(max_length=50, blank=True)
    postal_prefix = models.CharField(max_length=20, blank=True)
    tax_code = models.CharField(max_length=40, blank=True, help_text="Product tax code; empty: the default rate.")
    rate = models.DecimalField(max_digits=7, decimal_places=5, help_text="0.0725 for 7.25 %")
    shipping_taxable = models.BooleanField(default=True)

    class Meta:
        ordering = ["merchant", "country", "region", "postal_prefix", "tax_code"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "country", "region", "postal_prefix", "tax_code"], name="tax_rate_unique"
            )
        ]

    def __str__(self) -> str:
        where = "/".join(p for p in (self.country, self.region, self.postal_prefix) if p)
        return f"{self.name} {where} {self.tax_code or '*'}: {self.rate}"
