"""Carriers, their services, rate cards (zones, weight breaks, surcharges) and status codes."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models import Q

__all__ = [
    "Carrier",
    "CarrierService",
    "CarrierStatusCode",
    "Milestone",
    "RateBreak",
    "RateCard",
    "RateZone",
    "Surcharge",
]


class Milestone(models.TextChoices):
    """The normalised tracking vocabulary every carrier's own codes map onto."""

    LABEL_CREATED = "label_created"
    CARRIER_PICKUP = "carrier_pickup"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    AVAILABLE_FOR_PICKUP = "available_for_pickup"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    RETURNED_TO_SENDER = "returned_to_sender"


class Carrier(models.Model):
    class Adapter(models.TextChoices):
        RATE_CARD = "rate_card", "Built-in rate-card carrier"
        HTTP_API = "http_api", "HTTP API (EasyPost-style)"

    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=100)
    adapter = models.CharField(max_length=20, choices=Adapter.choices, default=Adapter.RATE_CARD)
    tracking_prefix = models.CharField(max_length=6, help_text="Tracking numbers start with this.")
    webhook_secret = models.CharField(max_length=128, help_text="Signs its tracking events (X-OMS-Signature).")
    api_base_url = models.URLField(blank=True, help_text="HTTP API carriers: the API's base URL.")
    api_key = models.CharField(max_length=200, blank=True, help_text="HTTP API carriers: the API key.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class CarrierService(models.Model):
    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="services")
    code = models.SlugField(max_length=30)
    name = models.CharField(max_length=100)
    service_levels = models.JSONField(default=list, help_text="Order service levels it satisfies, e.g. standard.")
    transit_days = models.JSONField(default=dict, help_text='Business days by zone, e.g. {"1": 1, "2": 2}.')
    pickup_cutoff = models.TimeField(null=True, blank=True, help_text="Carrier pick-up cut-off (node time).")
    # Measured from tracking history: delivered on or before the promise date / delivered.
    on_time_rate = models.DecimalField(max_digits=5, decimal_places=4, null=True, blank=True)
    on_time_sample = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["carrier", "code"]
        constraints = [models.UniqueConstraint(fields=["carrier", "code"], name="carrier_service_unique_code")]

    def __str__(self) -> str:
        return f"{self.carrier.name} {self.name}"


class RateCard(models.Model):
    """The price list of one service: zone by origin/destination, price by weight break."""

    class ZoneBasis(models.TextChoices):
        POSTAL_PREFIX = "postal_prefix", "Origin and destination postal-code prefixes"
        DISTANCE = "distance", "Distance bands (km)"

    service = models.OneToOneField(CarrierService, on_delete=models.CASCADE, related_name="rate_card")
    currency = models.CharField(max_length=3, default="USD")
    zone_basis = models.CharField(max_length=15, choices=ZoneBasis.choices, default=ZoneBasis.DISTANCE)
    dim_divisor = models.PositiveIntegerField(default=5000, help_text="cm³ per kg of dimensional weight.")
    fuel_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal(0))

    def __str__(self) -> str:
        return f"Rate card of {self.service}"


class RateZone(models.Model):
    """A zone: by postal prefixes (longest match wins) or by a distance band."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="zones")
    zone = models.PositiveSmallIntegerField()
    origin_prefix = models.CharField(max_length=10, blank=True)
    destination_prefix = models.CharField(max_length=10, blank=True)
    min_km = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)
    max_km = models.DecimalField(max_digits=8, decimal_places=1, null=True, blank=True)

    class Meta:
        ordering = ["rate_card", "zone", "id"]

    def __str__(self) -> str:
        return f"zone {self.zone}"


class RateBreak(models.Model):
    """Price of a parcel up to `max_weight_kg` (billable weight) in a zone."""

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="breaks")
    zone = models.PositiveSmallIntegerField()
    max_weight_kg = models.DecimalField(max_digits=7, decimal_places=2)
    price = models.DecimalField(max_digits=10, decimal_places=2)

    class Meta:
        ordering = ["rate_card", "zone", "max_weight_kg"]
        constraints = [models.UniqueConstraint(fields=["rate_card", "zone", "max_weight_kg"], name="rate_break_unique")]


class Surcharge(models.Model):
    class Applies(models.TextChoices):
        ALWAYS = "always"
        RESIDENTIAL = "residential"
        OVERWEIGHT = "overweight", "Over the weight threshold"

    rate_card = models.ForeignKey(RateCard, on_delete=models.CASCADE, related_name="surcharges")
    code = models.SlugField(max_length=30)
    applies = models.CharField(max_length=12, choices=Applies.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    over_kg = models.DecimalField(max_digits=7, decimal_places=2, null=True, blank=True)

    def __str__(self) -> str:
        return self.code


class CarrierStatusCode(models.Model):
    """The mapping table: a carrier's own status code -> our milestone."""

    carrier = models.ForeignKey(Carrier, on_delete=models.CASCADE, related_name="status_codes")
    code = models.CharField(max_length=60)
    milestone = models.CharField(max_length=25, choices=Milestone.choices)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["carrier", "code"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "code"], name="carrier_status_code_once"),
            models.CheckConstraint(condition=~Q(code=""), name="carrier_status_code_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.carrier.code}:{self.code} -> {self.milestone}"
