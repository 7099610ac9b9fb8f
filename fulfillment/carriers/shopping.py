"""Rate shopping: every service that meets the order's service level and promise date, ranked
by the merchant's policy; the choice and its reason are kept on the shipment."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fulfillment.carriers.adapters import CarrierUnavailable, adapter_for
from fulfillment.carriers.models import Carrier
from fulfillment.carriers.rates import Parcel, Quote, RateRequest
from inventory.models import Node
from oms.errors import DomainError

logger = logging.getLogger(__name__)

# A service never measured counts as this reliable until tracking history says otherwise.
UNMEASURED_ON_TIME = Decimal("0.90")


@dataclass(frozen=True)
class ShopResult:
    chosen: Quote
    quotes: list[Quote]
    policy: str
    reason: str


def quotes_for(
    *, origin: Node, destination: dict[str, Any], parcel: Parcel, now: datetime | None = None
) -> list[Quote]:
    request = RateRequest(
        origin=origin, destination=destination, parcel=parcel, residential=not destination.get("company"), now=now
    )
    out: list[Quote] = []
    for carrier in Carrier.objects.filter(active=True).order_by("code"):
        try:
            out += adapter_for(carrier).rate(carrier, request)
        except CarrierUnavailable as exc:  # one carrier down must not stop the others shipping
            logger.warning("no rates from %s: %s", carrier.code, exc)
    return out


def _rank_key(policy: str, quote: Quote) -> tuple[Any, ...]:
    reliability = quote.on_time_rate if quote.on_time_rate is not None else UNMEASURED_ON_TIME
    if policy == "fastest":
        return (quote.estimated_delivery, quote.price, quote.carrier, quote.service)
    if policy == "most_reliable":
        return (-reliability, quote.price, quote.estimated_delivery, quote.carrier, quote.service)
    return (quote.price, quote.estimated_delivery, quote.carrier, quote.service)


def rate_shop(
    *,
    origin: Node,
    destination: dict[str, Any],
    parcel: Parcel,
    service_level: str,
    promise_date: date | None,
    policy: str,
    now: datetime | None = None,
) -> ShopResult:
    """Choose a service. Raise DomainError when no active service serves the lane at that level."""
    quotes = quotes_for(origin=origin, destination=destination, parcel=parcel, now=now)
    eligible = [q for q in quotes if service_level in q.service_levels]
    if not eligible:
        raise DomainError(
            f"No carrier service offers '{service_level}' from {origin.code} to "
            f"{destination.get('postal_code', '?')} {destination.get('country', '')} for "
            f"{parcel.weight_kg} kg.",
            code="no_carrier_service",
        )
    on_time = [q for q in eligible if promise_date is None or q.estimated_delivery <= promise_date]
    by = f"by {promise_date.isoformat()}" if promise_date else "(no promise date)"
    if on_time:
        chosen = sorted(on_time, key=lambda q: _rank_key(policy, q))[0]
        reason = (
            f"{policy.replace('_', ' ')} of {len(on_time)} service(s) delivering '{service_level}' {by}: "
            f"{chosen.carrier_name} {chosen.service_name}, {chosen.price} {chosen.currency}, "
            f"arrives {chosen.estimated_delivery.isoformat()}"
        )
    else:
        # Nothing keeps the promise: the earliest arrival limits the damage, whatever the policy.
        chosen = sorted(eligible, key=lambda q: _rank_key("fastest", q))[0]
        reason = (
            f"no service delivers {by}; fastest of {len(eligible)} '{service_level}' service(s): "
            f"{chosen.carrier_name} {chosen.service_name}, arrives {chosen.estimated_delivery.isoformat()}"
        )
    ranked = sorted(quotes, key=lambda q: _rank_key(policy, q))
    return ShopResult(chosen=chosen, quotes=ranked, policy=policy, reason=reason)


def cost_estimate(
    *, origin: Node, destination: dict[str, Any], weight_kg: Decimal, service_level: str
) -> Decimal | None:
    """The cheapest rate-card price for a parcel on this lane at this service level (routing's
    cost factor); None when no service serves it."""
    quotes = quotes_for(origin=origin, destination=destination, parcel=Parcel(weight_kg=weight_kg))
    prices = [q.price for q in quotes if service_level in q.service_levels]
    return min(prices) if prices else None
