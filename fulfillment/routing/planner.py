"""The pure planning step: (order, network, policy, now, cost estimator) -> Plan.

No database and no clock of its own: the same inputs always give the same plan. Every ordering
ends in a tie-break by node code, and iteration never depends on the order the nodes came in.

Steps (docs/ROUTING.md): pick the first strategy whose conditions apply; filter nodes (reasons
kept); score the survivors (normalised, weighted — or an ordered sort); try the whole order from
one node; else, if the strategy allows splitting, the fewest nodes (greedy set cover over the
line groups, improved by an exact search on small candidate sets), honouring the shipment
limit; then partial quantities; what is left is unallocated (backorder, hold or cancel later).
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from fulfillment.routing.costs import CostEstimator, Lane, Quote
from fulfillment.routing.spec import Conditions, Filters, PolicySpec, StrategySpec
from inventory.geocoding import GeoPoint, distance_km

# Bounds of the exact search that improves on the greedy cover.
EXACT_POOL = 24
EXACT_MAX_COMBINATIONS = 20_000
# How much of each list a decision keeps (counts of the rest are kept too).
KEEP_CANDIDATES = 50
KEEP_REJECTIONS = 200
ALTERNATIVE_STORES = 3


# --- inputs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeInfo:
    id: int
    code: str
    type: str
    capabilities: frozenset[str] = frozenset()
    ships_to: frozenset[str] = frozenset()
    country: str = "US"
    region: str = ""
    latitude: float | None = None
    longitude: float | None = None
    tags: frozenset[str] = frozenset()
    daily_capacity: int | None = None
    used_today: int = 0
    cutoff: time | None = None
    time_zone: str = "UTC"
    handling_cost: Decimal = Decimal(0)
    priority: int = 100

    def serves(self, country: str, region: str) -> bool:
        country = country.upper()
        return country in self.ships_to or (bool(region) and f"{country}-{region.upper()}" in self.ships_to)


@dataclass(frozen=True)
class LineInfo:
    id: int
    product_id: int
    sku: str
    quantity: int  # what this run must place
    bundle: str = ""
    tags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class OrderInfo:
    id: int
    number: str
    channel: str
    service_level: str
    fulfillment_type: str  # "ship" | "pickup"
    country: str
    region: str
    postal_code: str
    point: GeoPoint
    value: Decimal
    promise_date: date | None
    lines: tuple[LineInfo, ...]
    pickup_node_id: int | None = None


@dataclass(frozen=True)
class Network:
    nodes: tuple[NodeInfo, ...]
    atp: Mapping[tuple[int, int], int]  # (product id, node id) -> ATP (inventory.selectors)
    blocked: frozenset[tuple[int, int]] = frozenset()  # (product id, node id) flagged "may not route"
    excluded: Mapping[int, str] = field(default_factory=dict)  # node id -> why, for this order
    # product id -> units the order may take in total over all nodes, where the channel's
    # availability buffer withholds some (inventory.selectors.promisable)
    promisable: Mapping[int, int] = field(default_factory=dict)


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    line_id: int
    product_id: int
    sku: str
    node_id: int
    node_code: str
    quantity: int
    floor: int = 0  # units the node must still have free after this reservation (store guardrail)


@dataclass
class Plan:
    strategy: str
    allocations: list[Allocation]
    unallocated: dict[int, int]  # line id -> quantity
    failure_action: str
    failure_days: int | None
    hold: bool
    shipments: int
    estimated_cost: Decimal
    promise_met: bool | None
    promise_date: date | None  # the order's, or computed from the plan when it had none
    mean_distance_km: float | None
    details: dict[str, Any]
    explanation: str = ""

    @property
    def complete(self) -> bool:
        return not any(self.unallocated.values())

    @property
    def node_codes(self) -> list[str]:
        return list(dict.fromkeys(a.node_code for a in self.allocations))


# --- evaluation ------------------------------------------------------------------------------


@lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except Exception:  # an unknown zone name must not stop routing: treat it as UTC
        return ZoneInfo("UTC")


@dataclass
class NodeEval:
    node: NodeInfo
    distance: float | None
    quote: Quote | None = None
    ship_date: date | None = None
    delivery: date | None = None
    past_cutoff: bool = False
    rejection: tuple[str, str] | None = None
    factors: dict[str, Any] = field(default_factory=dict)
    score: float = 0.0
    rank: int = 0

    @property
    def cost(self) -> Decimal:
        assert self.quote is not None
        return self.quote.cost + self.node.handling_cost


def _distance(order: OrderInfo, node: NodeInfo) -> float | None:
    if not order.point.known or node.latitude is None or node.longitude is None:
        return None
    return round(distance_km(order.point.latitude, order.point.longitude, node.latitude, node.longitude), 1)  # type: ignore[arg-type]


def _capability(order: OrderInfo, node: NodeInfo) -> str:
    if order.fulfillment_type == "pickup":
        return "pickup"
    return "ship_from_store" if node.type == "store" else "ship"


def _timing(
    ev: NodeEval, order: OrderInfo, now: datetime, estimator: CostEstimator, local: dict[str, datetime]
) -> None:
    node = ev.node
    lane = Lane(
        node_code=node.code,
        node_country=node.country,
        node_region=node.region,
        dest_country=order.country,
        dest_region=order.region,
        dest_postal_code=order.postal_code,
        distance_km=ev.distance if order.fulfillment_type != "pickup" else 0.0,
        service_level=order.service_level,
    )
    ev.quote = estimator.quote(lane)
    if node.time_zone not in local:
        local[node.time_zone] = now.astimezone(_zone(node.time_zone))
    here = local[node.time_zone]
    ev.past_cutoff = node.cutoff is not None and here.time() > node.cutoff
    ev.ship_date = here.date() + timedelta(days=1 if ev.past_cutoff else 0)
    ev.delivery = ev.ship_date + timedelta(days=ev.quote.transit_days)


def _cheap_rejection(
    node: NodeInfo, order: OrderInfo, strategy: StrategySpec, network: Network
) -> tuple[str, str] | None:
    """The filters that need neither distance nor timing, so most nodes are settled cheaply."""
    f = strategy.filters
    if node.id in network.excluded:
        return "excluded", network.excluded[node.id]
    if node.type not in f.node_types or node.type in f.exclude_node_types:
        return "node_type", f"{node.type} nodes are not allowed by strategy '{strategy.name}'"
    if f.node_groups and not (node.tags & set(f.node_groups)):
        return "node_group", f"not in group {', '.join(f.node_groups)}"
    if f.exclude_node_groups and node.tags & set(f.exclude_node_groups):
        return "node_group", f"in excluded group {', '.join(sorted(node.tags & set(f.exclude_node_groups)))}"
    needed = _capability(order, node)
    if needed not in node.capabilities:
        return "capability", f"cannot {needed.replace('_', ' ')}"
    if order.fulfillment_type != "pickup" and not node.serves(order.country, order.region):
        where = f"{order.country}-{order.region}" if order.region else order.country
        return "destination", f"does not ship to {where}"
    if f.respect_capacity and node.daily_capacity is not None and node.used_today >= node.daily_capacity:
        if node.daily_capacity == 0:
            return "capacity", "switched off (daily capacity 0)"
        return "capacity", f"at capacity today ({node.used_today} of {node.daily_capacity} orders)"
    return None


def _costly_rejection(ev: NodeEval, order: OrderInfo, strategy: StrategySpec) -> tuple[str, str] | None:
    """The filters on distance and on the promise (they need the node's timing)."""
    node, f = ev.node, strategy.filters
    if f.max_distance_km is not None and ev.distance is not None and ev.distance > f.max_distance_km:
        return "distance", f"{ev.distance:.0f} km away, beyond {f.max_distance_km:.0f} km"
    promise = order.promise_date
    if f.meet_promise and promise is not None and ev.delivery is not None and ev.delivery > promise:
        after = f" (after its {node.cutoff:%H:%M} cut-off)" if ev.past_cutoff and node.cutoff else ""
        return (
            "cut_off",
            f"ships {ev.ship_date:%Y-%m-%d}{after}, delivers {ev.delivery:%Y-%m-%d}, "
            f"after the promise date {promise:%Y-%m-%d}",
        )
    return None


def _score(evals: list[NodeEval], strategy: StrategySpec, order: OrderInfo, today: date) -> list[str]:
    """Fill factors and score of each surviving node; rank them. Return notes about the ranking."""
    notes: list[str] = []
    if not evals:
        return notes
    ranking = strategy.ranking
    groups = ranking.group_map
    for ev in evals:
        ev.factors = {
            "cost": float(ev.cost),
            "speed": (ev.delivery - today).days if ev.delivery else 0,
            "distance": ev.distance,
            "priority": groups.get(ev.node.type, ev.node.priority) if groups else ev.node.priority,
            "load": round(ev.node.used_today / ev.node.daily_capacity, 4) if ev.node.daily_capacity else 0.0,
        }
    distance_known = any(ev.factors["distance"] is not None for ev in evals)
    if ranking.mode == "sort":
        order_keys = [k for k in ranking.order if k != "shipments"]

        def sort_key(ev: NodeEval) -> tuple[Any, ...]:
            values = []
            for name in order_keys:
                value = ev.factors[name]
                values.append(math.inf if value is None else value)
            return (*values, ev.node.code)

        evals.sort(key=sort_key)
        for i, ev in enumerate(evals):
            ev.rank = i + 1
            ev.score = round(1 - i / max(len(evals), 1), 4)
        if "distance" in order_keys and not distance_known:
            notes.append("distance unknown, so the sort skipped it")
        return notes
    weights = {k: w for k, w in ranking.weight_map.items() if w > 0}
    if not distance_known and "distance" in weights:
        weights.pop("distance")
        notes.append("distance unknown, so nodes were ranked on the other factors")
    spans: dict[str, tuple[float, float]] = {}
    for name in weights:
        values = [ev.factors[name] for ev in evals if ev.factors[name] is not None]
        spans[name] = (min(values), max(values)) if values else (0.0, 0.0)
    total = sum(weights.values()) or 1.0
    for ev in evals:
        score = 0.0
        for name, weight in weights.items():
            value = ev.factors[name]
            low, high = spans[name]
            if value is None:
                goodness = 0.0  # a node without coordinates ranks last on distance
            elif high == low:
                goodness = 1.0
            else:
                goodness = (high - value) / (high - low)
            score += weight * goodness
        ev.score = round(score / total, 4)
    evals.sort(key=lambda ev: (-ev.score, ev.node.code))
    for i, ev in enumerate(evals):
        ev.rank = i + 1
    return notes


def _applies(conditions: Conditions, order: OrderInfo) -> tuple[bool, str]:
    c = conditions
    if c.channels and order.channel not in c.channels:
        return False, f"channel {order.channel} not in {', '.join(c.channels)}"
    if c.service_levels and order.service_level not in c.service_levels:
        return False, f"service level {order.service_level} not in {', '.join(c.service_levels)}"
    if c.countries and order.country.upper() not in c.countries:
        return False, f"country {order.country} not in {', '.join(c.countries)}"
    region = f"{order.country}-{order.region}".upper()
    if c.regions and region not in c.regions:
        return False, f"region {region} not in {', '.join(c.regions)}"
    if c.min_order_value is not None and order.value < c.min_order_value:
        return False, f"order value {order.value} below {c.min_order_value}"
    if c.max_order_value is not None and order.value > c.max_order_value:
        return False, f"order value {order.value} above {c.max_order_value}"
    if c.sku_tags and not any(line.tags & set(c.sku_tags) for line in order.lines):
        return False, f"no line tagged {', '.join(c.sku_tags)}"
    return True, "conditions met"


# --- planning --------------------------------------------------------------------------------


@dataclass
class _Work:
    """The state of one strategy's planning run."""

    order: OrderInfo
    strategy: StrategySpec
    evals: dict[int, NodeEval]  # surviving nodes by id
    ranked: list[int]  # surviving node ids, best first
    allowed: dict[int, set[int]]  # line id -> node ids that may serve it
    left: dict[tuple[int, int], int]  # (product, node) -> units still usable in this plan
    floors: dict[int, int]  # node id -> guardrail floor
    line_rejections: dict[int, list[dict[str, str]]]
    line_candidates: dict[int, list[dict[str, Any]]]
    whole: list[str] = field(default_factory=list)  # codes of the nodes that could take everything
    caps: Mapping[int, int] = field(default_factory=dict)  # product id -> units promisable in total

    def stock(self) -> _Stock:
        return _Stock(self.left, self.caps)


def _line_filters(work: _Work, network: Network, policy: PolicySpec, pickup: bool) -> None:
    order, strategy = work.order, work.strategy
    known = {n.code for n in network.nodes}
    guardrail = strategy.filters.store_guardrail
    for node_id in work.ranked:
        node = work.evals[node_id].node
        work.floors[node_id] = guardrail if node.type == "store" and not pickup else 0
    for line in order.lines:
        if line.quantity <= 0:  # already placed by an earlier run: nothing to find for it
            work.allowed[line.id] = set()
            continue
        rules = [d for d in policy.dropship if (d.sku and d.sku == line.sku) or (d.tag and d.tag in line.tags)]
        vendors = {d.node_code for d in rules}
        allowed: set[int] = set()
        rejections: list[dict[str, str]] = []
        candidates: list[dict[str, Any]] = []
        for node_id in work.ranked:
            node = work.evals[node_id].node
            key = (line.product_id, node_id)
            if vendors and node.code not in vendors:
                detail = f"{line.sku} is drop-shipped by {', '.join(sorted(vendors))}"
                rejections.append({"node": node.code, "reason": "dropship_rule", "detail": detail})
                continue
            if strategy.filters.respect_sku_node_rules and key in network.blocked:
                detail = f"{line.sku} may not be routed here"
                rejections.append({"node": node.code, "reason": "not_routable", "detail": detail})
                continue
            atp = network.atp.get(key)
            if atp is None or atp <= 0:
                detail = "no stock" if atp is None else "none available"
                rejections.append({"node": node.code, "reason": "no_stock", "detail": detail})
                continue
            floor = work.floors[node_id]
            usable = atp - floor
            cap = network.promisable.get(line.product_id, usable)
            if usable < line.quantity <= atp:
                # The guardrail, not the stock, stops it: say so even when it can give part.
                detail = f"{atp} available, keeps {floor} back"
                rejections.append({"node": node.code, "reason": "guardrail", "detail": detail})
            elif usable < line.quantity:
                detail = f"only {max(usable, 0)} of {line.quantity} available"
                rejections.append({"node": node.code, "reason": "insufficient_stock", "detail": detail})
            elif cap < line.quantity:
                detail = f"the {order.channel} channel's buffer leaves {max(cap, 0)} of {line.quantity} to promise"
                rejections.append({"node": node.code, "reason": "channel_buffer", "detail": detail})
            offered = min(usable, cap)
            if offered <= 0:
                continue
            allowed.add(node_id)
            work.left[key] = usable
            candidates.append({"node": node.code, "available": offered, "full": offered >= line.quantity})
        for code in sorted(vendors - known):
            rejections.append({"node": code, "reason": "dropship_rule", "detail": "vendor node inactive or unknown"})
        work.allowed[line.id] = allowed
        work.line_rejections[line.id] = rejections
        work.line_candidates[line.id] = candidates


def _groups(order: OrderInfo, keep_bundles: bool) -> list[tuple[LineInfo, ...]]:
    groups: dict[str, list[LineInfo]] = {}
    for line in order.lines:
        if line.quantity <= 0:
            continue
        key = f"b:{line.bundle}" if keep_bundles and line.bundle else f"l:{line.id}"
        groups.setdefault(key, []).append(line)
    return [tuple(g) for g in groups.values()]


class _Stock:
    """Units still usable per (product, node): the shared base, minus what this plan has taken,
    and never more of a product than its cap (the channel's buffer) less what the plan took of
    it anywhere.

    Trials copy only the (small) takings, never the base, so trying a node costs its own lines.
    """

    __slots__ = ("base", "caps", "taken", "taken_of")

    def __init__(
        self, base: dict[tuple[int, int], int], caps: Mapping[int, int],
        taken: dict[tuple[int, int], int] | None = None, taken_of: dict[int, int] | None = None,
    ) -> None:  # fmt: skip
        self.base = base
        self.caps = caps
        self.taken = dict(taken) if taken else {}
        self.taken_of = dict(taken_of) if taken_of else {}

    def get(self, key: tuple[int, int]) -> int:
        left = self.base.get(key, 0) - self.taken.get(key, 0)
        cap = self.caps.get(key[0])
        return left if cap is None else min(left, cap - self.taken_of.get(key[0], 0))

    def take(self, key: tuple[int, int], quantity: int) -> None:
        self.taken[key] = self.taken.get(key, 0) + quantity
        self.taken_of[key[0]] = self.taken_of.get(key[0], 0) + quantity


@lru_cache(maxsize=8192)
def _demand(group: tuple[LineInfo, ...]) -> tuple[tuple[int, int], ...]:
    need: dict[int, int] = defaultdict(int)
    for line in group:
        need[line.product_id] += line.quantity
    return tuple(need.items())


def _fits(work: _Work, node_id: int, group: tuple[LineInfo, ...], stock: _Stock) -> bool:
    allowed = work.allowed
    if any(node_id not in allowed[line.id] for line in group):
        return False
    return all(stock.get((p, node_id)) >= q for p, q in _demand(group))


def _take(node_id: int, group: tuple[LineInfo, ...], stock: _Stock) -> None:
    for p, q in _demand(group):
        stock.take((p, node_id), q)


def _cover_with(work: _Work, node_id: int, groups: list[tuple[LineInfo, ...]], stock: _Stock) -> list[int]:
    """Return the indexes of the groups the node can take, in order, sharing its stock."""
    allowed = work.allowed
    extra: dict[int, int] = {}
    taken = []
    for i, group in enumerate(groups):
        if any(node_id not in allowed[line.id] for line in group):
            continue
        need = _demand(group)
        if all(stock.get((p, node_id)) - extra.get(p, 0) >= q for p, q in need):
            for p, q in need:
                extra[p] = extra.get(p, 0) + q
            taken.append(i)
    return taken


def _assign(work: _Work, nodes: list[int], groups: list[tuple[LineInfo, ...]]) -> dict[int, int] | None:
    """Give every group to the best-ranked node of `nodes` that can take it; None if one cannot."""
    trial = work.stock()
    out: dict[int, int] = {}
    for i, group in enumerate(groups):
        for node_id in nodes:
            if _fits(work, node_id, group, trial):
                _take(node_id, group, trial)
                out[i] = node_id
                break
        else:
            return None
    return out


def _exact(work: _Work, groups: list[tuple[LineInfo, ...]], sizes: range) -> dict[int, int] | None:
    """Search node sets of the given sizes (best-ranked first) for one that takes every group."""
    base = work.stock()
    pool = [n for n in work.ranked if _cover_with(work, n, groups, base)][:EXACT_POOL]
    tried = 0
    for k in sizes:
        for combo in itertools.combinations(pool, k):
            tried += 1
            if tried > EXACT_MAX_COMBINATIONS:
                return None
            found = _assign(work, list(combo), groups)
            if found is not None:
                return found
    return None


def _plan_ship(work: _Work, ship_complete: bool) -> tuple[dict[int, list[tuple[LineInfo, int]]], list[str]]:
    """Return {node id: [(line, quantity)]} in plan order, and how the plan was reached."""
    strategy, order = work.strategy, work.order
    groups = _groups(order, strategy.keep_bundles)
    chosen: dict[int, list[tuple[LineInfo, int]]] = {}
    how: list[str] = []
    if not groups:
        return chosen, how
    base = work.stock()
    whole = [n for n in work.ranked if len(_cover_with(work, n, groups, base)) == len(groups)]
    work.whole = [work.evals[n].node.code for n in whole]
    if whole:
        node_id = whole[0]
        chosen[node_id] = [(line, line.quantity) for g in groups for line in g]
        how.append(f"whole:{len(whole)}")
        return chosen, how
    limit = 1 if ship_complete else (strategy.max_shipments or len(work.ranked) or 1)
    if ship_complete:
        how.append("ship_complete")
        return chosen, how
    if limit == 1:
        how.append("never_split")
    # Greedy set cover: the node taking the most groups (then units), ties to the better rank.
    remaining = list(range(len(groups)))
    assignment: dict[int, int] = {}
    used: list[int] = []
    left = work.stock()
    while remaining and len(used) < limit:
        best, best_cov, best_units = None, [], 0
        pending = [groups[i] for i in remaining]
        for node_id in work.ranked:
            if node_id in used:
                continue
            cov = _cover_with(work, node_id, pending, left)
            units = sum(line.quantity for j in cov for line in pending[j])
            if (len(cov), units) > (len(best_cov), best_units):
                best, best_cov, best_units = node_id, cov, units
        if best is None:
            break
        used.append(best)
        for j in best_cov:
            _take(best, pending[j], left)
            assignment[remaining[j]] = best
        remaining = [i for i in remaining if i not in assignment]
    how.append("greedy")
    # Improve on the greedy cover: fewer nodes, or every coverable group within the limit.
    coverable = [i for i in range(len(groups)) if any(_fits(work, n, groups[i], base) for n in work.ranked)]
    missing = [i for i in remaining if i in coverable]
    if limit > 1 and (missing or len(used) >= 3):
        top = min(limit, len(work.ranked)) if missing else len(used) - 1
        subset = [groups[i] for i in coverable]
        better = _exact(work, subset, range(2, top + 1))
        if better is not None:
            assignment = {coverable[j]: node_id for j, node_id in better.items()}
            remaining = [i for i in range(len(groups)) if i not in assignment]
            used = list(dict.fromkeys(assignment[i] for i in sorted(assignment)))
            left = work.stock()
            for i, node_id in assignment.items():
                _take(node_id, groups[i], left)
            how.append("exact")
    # Plan order: by rank of the node.
    for node_id in sorted(set(assignment.values()), key=work.ranked.index):
        chosen[node_id] = [(line, line.quantity) for i, n in sorted(assignment.items()) if n == node_id
                           for line in groups[i]]  # fmt: skip
    # Partial quantities of single lines (never of bundles): nodes already used first.
    for i in remaining:
        group = groups[i]
        if len(group) != 1 or (strategy.keep_bundles and group[0].bundle):
            continue
        line = group[0]
        need = line.quantity
        order_of_nodes = [n for n in work.ranked if n in chosen] + [n for n in work.ranked if n not in chosen]
        for node_id in order_of_nodes:
            if need <= 0:
                break
            if node_id not in chosen and len(chosen) >= limit:
                continue
            if node_id not in work.allowed[line.id]:
                continue
            have = left.get((line.product_id, node_id))
            if have <= 0:
                continue
            take = min(have, need)
            left.take((line.product_id, node_id), take)
            chosen.setdefault(node_id, []).append((line, take))
            need -= take
            if "partial" not in how:
                how.append("partial")
    return chosen, how


def _line_summary(work: _Work, line: LineInfo, placed: dict[int, list[tuple[int, int]]]) -> dict[str, Any]:
    candidates = work.line_candidates.get(line.id, [])
    rejections = work.line_rejections.get(line.id, [])
    out_alloc = [{"node": work.evals[n].node.code, "quantity": q} for n, q in placed.get(line.id, [])]
    return {
        "line": line.id,
        "sku": line.sku,
        "quantity": line.quantity,
        "bundle": line.bundle,
        "candidates": candidates[:KEEP_CANDIDATES],
        "more_candidates": max(len(candidates) - KEEP_CANDIDATES, 0),
        "rejected": rejections[:KEEP_REJECTIONS],
        "more_rejected": max(len(rejections) - KEEP_REJECTIONS, 0),
        "allocated": out_alloc,
        "unallocated": line.quantity - sum(q for _, q in placed.get(line.id, [])),
    }


def _evaluate(
    order: OrderInfo, network: Network, strategy: StrategySpec, now: datetime, estimator: CostEstimator
) -> tuple[dict[int, NodeEval], list[dict[str, str]]]:
    survivors: dict[int, NodeEval] = {}
    rejected: list[dict[str, str]] = []
    products = {line.product_id for line in order.lines if line.quantity}
    local: dict[str, datetime] = {}
    for node in sorted(network.nodes, key=lambda n: n.code):
        rejection = _cheap_rejection(node, order, strategy, network)
        if rejection is not None:
            rejected.append({"node": node.code, "reason": rejection[0], "detail": rejection[1]})
            continue
        ev = NodeEval(node=node, distance=None)
        # A node without any of the SKUs is rejected per line ("no stock"): no need to time it.
        if any(network.atp.get((p, node.id), 0) > 0 for p in products):
            ev.distance = _distance(order, node)
            _timing(ev, order, now, estimator, local)
            rejection = _costly_rejection(ev, order, strategy)
            if rejection is not None:
                rejected.append({"node": node.code, "reason": rejection[0], "detail": rejection[1]})
                continue
        survivors[node.id] = ev
    return survivors, rejected


def _work(
    order: OrderInfo, network: Network, policy: PolicySpec, strategy: StrategySpec, now: datetime,
    estimator: CostEstimator, pickup: bool,
) -> tuple[_Work, list[dict[str, str]], list[str]]:  # fmt: skip
    evals, rejected = _evaluate(order, network, strategy, now, estimator)
    work = _Work(order, strategy, evals, [], {}, {}, {}, {}, {}, caps=network.promisable)
    work.ranked = sorted(evals, key=lambda n: evals[n].node.code)
    _line_filters(work, network, policy, pickup)
    # Score only the nodes that can serve at least one line: they are the candidates.
    useful = {n for ids in work.allowed.values() for n in ids}
    for node_id in [n for n in work.ranked if n not in useful]:
        evals.pop(node_id)
    scored = [evals[n] for n in sorted(useful, key=lambda n: evals[n].node.code)]
    notes = _score(scored, strategy, order, now.date())
    work.ranked = [ev.node.id for ev in scored]
    rank = {ev.node.code: ev.rank for ev in scored}
    for candidates in work.line_candidates.values():
        candidates.sort(key=lambda c: rank[c["node"]])
    return work, rejected, notes


def _finish(
    order: OrderInfo,
    work: _Work,
    chosen: dict[int, list[tuple[LineInfo, int]]],
    how: list[str],
    rejected_nodes: list[dict[str, str]],
    notes: list[str],
    attempts: list[dict[str, Any]],
    policy: PolicySpec,
    failure_action: str,
    hold: bool,
    extra: dict[str, Any] | None = None,
) -> Plan:
    strategy = work.strategy
    allocations: list[Allocation] = []
    placed: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for node_id, items in chosen.items():
        node = work.evals[node_id].node
        for line, quantity in items:
            allocations.append(
                Allocation(
                    line.id, line.product_id, line.sku, node_id, node.code, quantity, work.floors.get(node_id, 0)
                )
            )
            placed[line.id].append((node_id, quantity))
    unallocated = {
        line.id: line.quantity - sum(q for _, q in placed.get(line.id, [])) for line in order.lines if line.quantity
    }
    unallocated = {k: v for k, v in unallocated.items() if v > 0}
    plan_nodes = [work.evals[n] for n in chosen]
    cost = sum((ev.cost for ev in plan_nodes), Decimal(0))
    deliveries = [ev.delivery for ev in plan_nodes if ev.delivery is not None]
    promise = order.promise_date
    promise_met = None
    if deliveries:
        promise_met = all(d <= promise for d in deliveries) if promise else True
        if promise is None:
            promise = max(deliveries)
    distances = [ev.distance for ev in plan_nodes if ev.distance is not None]
    node_table = {
        ev.node.code: {
            "type": ev.node.type,
            "rank": ev.rank,
            "score": ev.score,
            "factors": ev.factors,
            "zone": ev.quote.zone if ev.quote else None,
            "zone_basis": ev.quote.basis if ev.quote else "",
            "ship_date": ev.ship_date.isoformat() if ev.ship_date else None,
            "delivery": ev.delivery.isoformat() if ev.delivery else None,
            "past_cutoff": ev.past_cutoff,
        }
        for ev in sorted(work.evals.values(), key=lambda e: e.rank)
    }
    ranking = strategy.ranking
    details: dict[str, Any] = {
        "destination": {
            "country": order.country,
            "region": order.region,
            "postal_code": order.postal_code,
            "precision": order.point.precision,
        },
        "service_level": order.service_level,
        "fulfillment_type": order.fulfillment_type,
        "promise_date": order.promise_date.isoformat() if order.promise_date else None,
        "policy": policy.label,
        "strategies": attempts,
        "strategy": strategy.name,
        "ranking": {
            "mode": ranking.mode,
            "weights": ranking.weight_map,
            "order": list(ranking.order),
            "priority_groups": ranking.group_map,
        },  # fmt: skip
        "split": {
            "max_shipments": strategy.max_shipments,
            "ship_complete": strategy.ship_complete,
            "keep_bundles": strategy.keep_bundles,
        },  # fmt: skip
        "how": how,
        "whole_nodes": work.whole[:KEEP_CANDIDATES],
        "nodes": node_table,
        "rejected_nodes": rejected_nodes[:KEEP_REJECTIONS],
        "more_rejected_nodes": max(len(rejected_nodes) - KEEP_REJECTIONS, 0),
        "lines": [_line_summary(work, line, placed) for line in order.lines if line.quantity],
        "plan": [
            {
                "node": work.evals[n].node.code,
                "lines": [{"line": line.id, "sku": line.sku, "quantity": q} for line, q in items],
                "cost": str(work.evals[n].cost),
                "delivery": work.evals[n].delivery.isoformat() if work.evals[n].delivery else None,
            }
            for n, items in chosen.items()
        ],
        "failure_action": failure_action if unallocated else None,
        "notes": notes,
        **(extra or {}),
    }
    plan = Plan(
        strategy=strategy.name,
        allocations=allocations,
        unallocated=unallocated,
        failure_action=failure_action,
        failure_days=strategy.failure_days,
        hold=hold and bool(unallocated),
        shipments=len(chosen),
        estimated_cost=cost,
        promise_met=promise_met,
        promise_date=promise,
        mean_distance_km=round(sum(distances) / len(distances), 1) if distances else None,
        details=details,
    )
    from fulfillment.routing.explain import explain

    plan.explanation = explain(plan)
    return plan


def _plan_pickup(
    order: OrderInfo, network: Network, policy: PolicySpec, strategy: StrategySpec, now: datetime,
    estimator: CostEstimator, attempts: list[dict[str, Any]],
) -> Plan:  # fmt: skip
    # Pick-up allocates at the chosen store only; the strategy's node filters do not narrow it.
    pickup_strategy = StrategySpec(
        name=f"{strategy.name} (pick-up)",
        filters=Filters(
            node_types=("store",),
            respect_sku_node_rules=strategy.filters.respect_sku_node_rules,
            respect_capacity=strategy.filters.respect_capacity,
        ),
        ranking=strategy.ranking,
        failure_action="hold",
    )
    work, rejected, notes = _work(order, network, policy, pickup_strategy, now, estimator, pickup=True)
    groups = [tuple(line for line in order.lines if line.quantity)]
    chosen: dict[int, list[tuple[LineInfo, int]]] = {}
    store = order.pickup_node_id
    stock = work.stock()
    if store in work.evals and _fits(work, store, groups[0], stock):
        chosen[store] = [(line, line.quantity) for line in groups[0]]
        return _finish(order, work, chosen, ["pickup"], rejected, notes, attempts, policy, "hold", hold=False)
    # The chosen store cannot: list the nearest stores that could take the whole order.
    origin = next((n for n in network.nodes if n.id == store), None)
    able = [n for n in work.ranked if n != store and _fits(work, n, groups[0], stock)]
    if origin is not None and origin.latitude is not None and origin.longitude is not None:
        here: tuple[float, float] | None = (origin.latitude, origin.longitude)
    elif order.point.known:
        here = (order.point.latitude, order.point.longitude)  # type: ignore[assignment]
    else:
        here = None

    def nearness(node_id: int) -> tuple[float, str]:
        node = work.evals[node_id].node
        if here is None or node.latitude is None or node.longitude is None:
            return (math.inf, node.code)
        return (distance_km(here[0], here[1], node.latitude, node.longitude), node.code)

    alternatives = []
    for node_id in sorted(able, key=nearness)[:ALTERNATIVE_STORES]:
        km = nearness(node_id)[0]
        alternatives.append(
            {"node": work.evals[node_id].node.code, "distance_km": None if math.isinf(km) else round(km, 1)}
        )
    extra = {
        "pickup_store": origin.code if origin else None,
        "alternatives": alternatives,
    }
    return _finish(order, work, {}, ["pickup"], rejected, notes, attempts, policy, "hold", hold=True, extra=extra)


def plan_order(
    order: OrderInfo, network: Network, policy: PolicySpec, *, now: datetime, estimator: CostEstimator
) -> Plan:
    """Plan where each line of the order comes from. Pure: no database, no clock."""
    attempts: list[dict[str, Any]] = []
    applicable: list[tuple[StrategySpec, dict[str, Any]]] = []
    for strategy in policy.strategies:
        ok, why = _applies(strategy.conditions, order)
        attempts.append({"strategy": strategy.name, "applies": ok, "why": why})
        if ok:
            applicable.append((strategy, attempts[-1]))
    if order.fulfillment_type == "pickup":
        strategy = applicable[0][0] if applicable else StrategySpec(name="Pick-up")
        return _plan_pickup(order, network, policy, strategy, now, estimator, attempts)
    if not applicable:
        fallback = StrategySpec(name="(no strategy applies)", failure_action="hold")
        work = _Work(order, fallback, {}, [], {}, {}, {}, {}, {})
        return _finish(order, work, {}, ["no_strategy"], [], [], attempts, policy, "hold", hold=True)
    plan: Plan | None = None
    for i, (strategy, attempt) in enumerate(applicable):
        work, rejected, notes = _work(order, network, policy, strategy, now, estimator, pickup=False)
        ship_complete = strategy.ship_complete or order.channel in strategy.ship_complete_channels
        chosen, how = _plan_ship(work, ship_complete)
        action = strategy.failure_action
        last = i == len(applicable) - 1
        if action == "next_strategy" and last:
            action = "backorder"  # nothing left to try: wait for stock
        plan = _finish(order, work, chosen, how, rejected, notes, attempts, policy, action, hold=action == "hold")
        attempt["outcome"] = "complete" if plan.complete else f"{sum(plan.unallocated.values())} unit(s) unallocated"
        if plan.complete or strategy.failure_action != "next_strategy" or last:
            break
    assert plan is not None
    return plan
