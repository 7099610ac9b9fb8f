"""The cost-estimate interface routing scores with, and its per-zone cost table.

Routing asks a `CostEstimator` for a `Quote` (cost and transit days) from a node to a
destination at a service level. The default is `ZoneTableEstimator`: the distance (or, when it
is unknown, the node's and destination's country/region) gives a zone from 1 to 8, and the
table (`ShippingZoneRate` rows, merchant rows over default rows over `DEFAULT_TABLE`) gives the
cost and days. The carrier rate cards of the fulfilment issue plug in through
`register_estimator_factory`, with the same interface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

ZONE_BANDS_KM = ((80, 1), (250, 2), (500, 3), (1000, 4), (1500, 5), (2000, 6), (2800, 7))
FARTHEST_ZONE = 8


# (cost, transit days) per service level and zone: a US parcel ground/express/overnight shape.
def _rates(*pairs: tuple[str, int]) -> dict[int, tuple[Decimal, int]]:
    return {zone: (Decimal(cost), days) for zone, (cost, days) in enumerate(pairs, start=1)}


DEFAULT_TABLE: dict[str, dict[int, tuple[Decimal, int]]] = {
    "standard": _rates(("5.50", 1), ("6.25", 2), ("7.00", 3), ("7.90", 3), ("8.80", 4), ("9.60", 5), ("10.40", 5),
                       ("11.50", 6)),
    "express": _rates(("11.00", 1), ("12.50", 1), ("14.00", 2), ("16.00", 2), ("18.00", 2), ("20.00", 3),
                      ("22.00", 3), ("25.00", 3)),
    "next_day": _rates(("22.00", 1), ("26.00", 1), ("30.00", 1), ("34.00", 1), ("38.00", 1), ("42.00", 1),
                       ("46.00", 1), ("52.00", 1)),
    "pickup": _rates(*[("0.00", 0)] * 8),
}  # fmt: skip


@dataclass(frozen=True)
class Lane:
    """What an estimator needs about the trip (kept small so any rate source can answer)."""

    node_code: str
    node_country: str
    node_region: str
    dest_country: str
    dest_region: str
    dest_postal_code: str
    distance_km: float | None
    service_level: str


@dataclass(frozen=True)
class Quote:
    cost: Decimal
    transit_days: int
    zone: int | None
    basis: str  # how the zone was found: "distance", "same region", "same country", "other country"


class CostEstimator(Protocol):
    def quote(self, lane: Lane) -> Quote: ...


def zone_for(lane: Lane) -> tuple[int, str]:
    """Return (zone, basis): by distance band, or by geography when the distance is unknown."""
    if lane.distance_km is not None:
        for limit, zone in ZONE_BANDS_KM:
            if lane.distance_km <= limit:
                return zone, "distance"
        return FARTHEST_ZONE, "distance"
    if lane.node_country.upper() != lane.dest_country.upper():
        return FARTHEST_ZONE, "other country"
    if lane.node_region and lane.node_region.upper() == (lane.dest_region or "").upper():
        return 2, "same region"
    return 5, "same country"


class ZoneTableEstimator:
    def __init__(self, table: dict[str, dict[int, tuple[Decimal, int]]]) -> None:
        self.table = table

    def quote(self, lane: Lane) -> Quote:
        zone, basis = zone_for(lane)
        rates = self.table.get(lane.service_level) or self.table["standard"]
        cost, days = rates.get(zone) or DEFAULT_TABLE["standard"][zone]
        return Quote(cost, days, zone, basis)


def zone_table(merchant_id: int | None) -> dict[str, dict[int, tuple[Decimal, int]]]:
    """Return the merchant's table: its own rows over the default rows over DEFAULT_TABLE."""
    from django.db.models import F, Q

    from fulfillment.routing.models import ShippingZoneRate

    table = {level: dict(rates) for level, rates in DEFAULT_TABLE.items()}
    rows = ShippingZoneRate.objects.filter(Q(merchant__isnull=True) | Q(merchant_id=merchant_id)).order_by(
        F("merchant_id").desc(nulls_last=True)
    )
    seen: set[tuple[str, int]] = set()
    for row in rows:  # the merchant's own rows first, then the defaults
        key = (row.service_level, row.zone)
        if key in seen:
            continue
        seen.add(key)
        table.setdefault(row.service_level, {})[row.zone] = (row.cost, row.transit_days)
    return table


EstimatorFactory = Callable[[int | None], CostEstimator]


def _default_factory(merchant_id: int | None) -> CostEstimator:
    return ZoneTableEstimator(zone_table(merchant_id))


_factory: EstimatorFactory = _default_factory


def register_estimator_factory(factory: EstimatorFactory | None) -> None:
    """Plug in another rate source (carrier rate cards); None restores the zone table."""
    global _factory
    _factory = factory or _default_factory


def estimator_for(merchant_id: int | None) -> CostEstimator:
    return _factory(merchant_id)
