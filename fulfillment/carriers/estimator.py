"""Routing's cost estimate from the carrier rate cards (fulfillment.routing.costs interface).

The cheapest rate-card service at the lane's service level prices a nominal parcel; a lane no
rate card serves (or a level no service offers, such as pick-up) falls back to routing's own
zone table, so routing always gets an answer.
"""

from __future__ import annotations

from decimal import Decimal

from fulfillment.carriers.models import Carrier, CarrierService, RateBreak, RateCard, RateZone, Surcharge
from fulfillment.carriers.rates import Parcel, RateRequest, rate_card_price
from fulfillment.routing.costs import CostEstimator, Lane, Quote, ZoneTableEstimator, zone_table
from fulfillment.routing.models import ShippingZoneRate
from inventory.models import Node
from oms.caches import ProcessCache

# Routing compares nodes before parcels exist: one typical parcel stands for the order.
NOMINAL_PARCEL = Parcel(weight_kg=Decimal("1.0"))


class RateCardEstimator:
    def __init__(self, merchant_id: int | None) -> None:
        self.merchant_id = merchant_id
        # Loaded once per routing run: every candidate node is priced from memory.
        self.services = list(
            CarrierService.objects.filter(active=True, carrier__active=True, rate_card__isnull=False)
            .select_related("carrier", "rate_card")
            .prefetch_related("rate_card__zones", "rate_card__breaks", "rate_card__surcharges")
        )
        self._nodes: dict[str, Node] | None = None
        self._fallback: CostEstimator | None = None

    def _node(self, code: str) -> Node | None:
        if self._nodes is None:  # every node that can serve the merchant, in one query (at load)
            nodes = Node.objects.all() if self.merchant_id is None else Node.objects.filter(merchants=self.merchant_id)
            self._nodes = {node.code: node for node in nodes}
        return self._nodes.get(code)

    def fallback(self) -> CostEstimator:
        if self._fallback is None:
            self._fallback = ZoneTableEstimator(zone_table(self.merchant_id))
        return self._fallback

    def quote(self, lane: Lane) -> Quote:
        node = self._node(lane.node_code)
        if node is not None:
            destination = {
                "country": lane.dest_country,
                "region": lane.dest_region,
                "postal_code": lane.dest_postal_code,
            }
            request = RateRequest(origin=node, destination=destination, parcel=NOMINAL_PARCEL)
            # Prices only: routing needs no collection or delivery dates from the cards.
            prices = [
                (p.price, p.transit_days, p.zone, s)
                for s in self.services
                if lane.service_level in s.service_levels
                for p in [rate_card_price(s, request)]
                if p is not None
            ]
            if prices:
                price, transit_days, zone, s = min(prices, key=lambda p: (p[0], p[1]))
                return Quote(price, transit_days, zone, f"rate card {s.carrier.name} {s.name}")
        return self.fallback().quote(lane)


def _load(merchant_id: int | None) -> CostEstimator:
    estimator = RateCardEstimator(merchant_id)
    estimator.fallback()
    estimator._node("")  # load everything now: the cached estimator is shared, read-only
    return estimator


# Per process: building the estimator (rate cards, zones, breaks, surcharges, the merchant's
# nodes) costs five queries and about 25 ms, and every allocation of the merchant needs it.
_ESTIMATORS = ProcessCache(
    "fulfillment.rate_card_estimators",
    _load,
    invalidated_by=(Carrier, CarrierService, RateCard, RateZone, RateBreak, Surcharge, Node, ShippingZoneRate),
)


def rate_card_estimator(merchant_id: int | None) -> CostEstimator:
    return _ESTIMATORS.get(merchant_id)
