"""Rate-card pricing: zone, billable weight, weight break, surcharges, transit and delivery date."""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from fulfillment.carriers.models import CarrierService, RateCard, Surcharge
from inventory.geocoding import distance_km, geocode
from inventory.models import Node

CENT = Decimal("0.01")
# A unit whose product has no weight is billed as this much (a typical apparel item with bag).
DEFAULT_UNIT_WEIGHT_KG = Decimal("0.5")


@dataclass(frozen=True)
class Parcel:
    weight_kg: Decimal
    volume_cm3: Decimal = Decimal(0)


@dataclass(frozen=True)
class RateRequest:
    origin: Node
    destination: dict[str, Any]
    parcel: Parcel
    residential: bool = True
    now: datetime | None = None


@dataclass(frozen=True)
class Quote:
    carrier: str
    carrier_name: str
    service: str
    service_name: str
    service_id: int
    service_levels: list[str]
    zone: int
    price: Decimal
    currency: str
    billable_weight_kg: Decimal
    transit_days: int
    ship_date: date
    estimated_delivery: date
    on_time_rate: Decimal | None
    breakdown: dict[str, str] = field(default_factory=dict)
    # The carrier's own ids for this rate (an HTTP carrier buys the label with them).
    external: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("price", "billable_weight_kg"):
            data[key] = str(data[key])
        data["on_time_rate"] = None if self.on_time_rate is None else str(self.on_time_rate)
        data["ship_date"] = self.ship_date.isoformat()
        data["estimated_delivery"] = self.estimated_delivery.isoformat()
        return data


def _digits(postal_code: str) -> str:
    return "".join(ch for ch in postal_code if ch.isalnum()).upper()


def zone_for(card: RateCard, origin: Node, destination: dict[str, Any]) -> int | None:
    """The card's zone from origin to destination, or None when it does not serve the lane."""
    zones = list(card.zones.all())
    if card.zone_basis == RateCard.ZoneBasis.POSTAL_PREFIX:
        source, target = _digits(origin.postal_code), _digits(destination.get("postal_code", ""))
        matches = [z for z in zones if source.startswith(z.origin_prefix) and target.startswith(z.destination_prefix)]
        if not matches:
            return None
        # The most specific lane wins.
        return max(matches, key=lambda z: (len(z.origin_prefix) + len(z.destination_prefix), -z.zone)).zone
    if origin.latitude is None or origin.longitude is None:
        return None
    point = geocode(
        country=destination.get("country", ""),
        region=destination.get("region", ""),
        postal_code=destination.get("postal_code", ""),
    )
    if not point.known:
        return None
    km = Decimal(str(distance_km(float(origin.latitude), float(origin.longitude), point.latitude, point.longitude)))
    for z in zones:
        if (z.min_km is None or km >= z.min_km) and (z.max_km is None or km < z.max_km):
            return z.zone
    return None


def billable_weight(card: RateCard, parcel: Parcel) -> Decimal:
    dimensional = parcel.volume_cm3 / card.dim_divisor if parcel.volume_cm3 else Decimal(0)
    weight = max(parcel.weight_kg, dimensional, Decimal("0.1"))
    # Carriers bill by the started tenth of a kilogram.
    return Decimal(math.ceil(weight * 10)) / 10


def _add_business_days(start: date, days: int) -> date:
    current = start
    while days > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            days -= 1
    return current


def add_business_days(start: date, days: int) -> date:
    return _add_business_days(start, days)


def ship_date(service: CarrierService, origin: Node, now: datetime | None = None) -> date:
    """The day the carrier collects: today before its cut-off (node time), else the next working day."""
    local = timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(origin.time_zone or "UTC"))
    day = local.date()
    if service.pickup_cutoff is not None and local.time() >= service.pickup_cutoff:
        day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _surcharges(card: RateCard, billable: Decimal, residential: bool) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for s in card.surcharges.all():
        applies = (
            s.applies == Surcharge.Applies.ALWAYS
            or (s.applies == Surcharge.Applies.RESIDENTIAL and residential)
            or (s.applies == Surcharge.Applies.OVERWEIGHT and s.over_kg is not None and billable > s.over_kg)
        )
        if applies:
            out[s.code] = s.amount
    return out


@dataclass(frozen=True)
class Price:
    """A rate card's price for a parcel on a lane, without dates: what routing compares."""

    zone: int
    transit_days: int
    billable_weight_kg: Decimal
    base: Decimal
    extras: dict[str, Decimal]
    fuel: Decimal
    price: Decimal


def rate_card_price(service: CarrierService, request: RateRequest) -> Price | None:
    """Price one service for one parcel from its rate card; None if it cannot take it."""
    card = getattr(service, "rate_card", None)
    if card is None:
        return None
    zone = zone_for(card, request.origin, request.destination)
    if zone is None:
        return None
    transit = service.transit_days.get(str(zone))
    if transit is None:
        return None
    billable = billable_weight(card, request.parcel)
    brk = next((b for b in card.breaks.all() if b.zone == zone and b.max_weight_kg >= billable), None)
    if brk is None:
        return None  # heavier than the card's heaviest break in this zone
    extras = _surcharges(card, billable, request.residential)
    subtotal = brk.price + sum(extras.values(), Decimal(0))
    fuel = (subtotal * card.fuel_percent / 100).quantize(CENT, ROUND_HALF_UP)
    price = (subtotal + fuel).quantize(CENT, ROUND_HALF_UP)
    return Price(zone, int(transit), billable, brk.price, extras, fuel, price)


def rate_card_quote(service: CarrierService, request: RateRequest) -> Quote | None:
    """The rate card's quote for a label: its price with the collection and delivery dates."""
    priced = rate_card_price(service, request)
    if priced is None:
        return None
    collected = ship_date(service, request.origin, request.now)
    breakdown = {"base": str(priced.base), **{k: str(v) for k, v in priced.extras.items()}, "fuel": str(priced.fuel)}
    return Quote(
        carrier=service.carrier.code,
        carrier_name=service.carrier.name,
        service=service.code,
        service_name=service.name,
        service_id=service.pk,
        service_levels=list(service.service_levels),
        zone=priced.zone,
        price=priced.price,
        currency=service.rate_card.currency,
        billable_weight_kg=priced.billable_weight_kg,
        transit_days=priced.transit_days,
        ship_date=collected,
        estimated_delivery=_add_business_days(collected, priced.transit_days),
        on_time_rate=service.on_time_rate,
        breakdown=breakdown,
    )
