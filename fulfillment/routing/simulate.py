"""What-if replay: route past orders again under another policy, reserving nothing.

Each order is replayed from its first routing decision: the lines and quantities it routed, its
destination, service level and promise, at the moment it was routed, against the stock each node
had then (the ledger summed up to that moment) and the load each node had taken that day. The
result is set beside what happened: estimated cost, split rate, promise-met rate, mean distance,
fill rate and nodes used. Orders are replayed independently (a simulated plan does not consume
stock for the next one), so the figures compare policies order by order.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fulfillment.routing.costs import estimator_for
from fulfillment.routing.models import RoutingDecision
from fulfillment.routing.planner import LineInfo, OrderInfo, Plan, plan_order
from fulfillment.routing.selectors import StockAsOf, network_for
from fulfillment.routing.spec import PolicySpec
from inventory.geocoding import geocode
from inventory.models import Product
from orders.models import OrderLine

FIRST_RUNS = (RoutingDecision.Trigger.READY, RoutingDecision.Trigger.SWEEP)


@dataclass
class Side:
    """The figures of one side of the comparison (what happened, or the simulation)."""

    orders: int = 0
    complete: int = 0
    units_asked: int = 0
    units_placed: int = 0
    cost: Decimal = Decimal(0)
    split: int = 0
    promised: int = 0
    promise_met: int = 0
    distances: list[float] = field(default_factory=list)
    nodes: Counter[str] = field(default_factory=Counter)

    def add(self, *, asked: int, placed: int, cost: Decimal, shipments: int, promise_met: bool | None,
            distance: float | None, nodes: list[str]) -> None:  # fmt: skip
        self.orders += 1
        self.units_asked += asked
        self.units_placed += placed
        self.complete += placed >= asked
        self.cost += cost
        self.split += shipments > 1
        if promise_met is not None:
            self.promised += 1
            self.promise_met += promise_met
        if distance is not None:
            self.distances.append(distance)
        self.nodes.update(set(nodes))

    @property
    def mean_distance(self) -> float | None:
        return sum(self.distances) / len(self.distances) if self.distances else None


@dataclass
class Report:
    policy_label: str
    stock_basis: str  # "ledger" | "current"
    since: date
    actual: Side = field(default_factory=Side)
    simulated: Side = field(default_factory=Side)
    differing: int = 0
    skipped: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


def _order_info(decision: RoutingDecision, lines: dict[int, OrderLine], tags: dict[int, list[str]]) -> OrderInfo:
    d = decision.details or {}
    order = decision.order
    dest = d.get("destination") or {}
    country, region, postal = dest.get("country", ""), dest.get("region", ""), dest.get("postal_code", "")
    promise = d.get("promise_date") or d.get("promise_date_computed")
    infos = []
    for item in d.get("lines", []):
        line = lines.get(item["line"])
        if line is None:
            continue
        infos.append(
            LineInfo(line.pk, line.product_id, line.sku, int(item["quantity"]), item.get("bundle", ""),
                     frozenset(tags.get(line.product_id) or ()))
        )  # fmt: skip
    return OrderInfo(
        id=order.pk,
        number=order.number,
        channel=order.channel.code,
        service_level=d.get("service_level") or order.service_level,
        fulfillment_type=d.get("fulfillment_type") or order.fulfillment_type,
        country=country,
        region=region,
        postal_code=postal,
        point=geocode(country=country, region=region, postal_code=postal),
        value=order.total,
        promise_date=date.fromisoformat(promise) if promise else None,
        lines=tuple(infos),
        pickup_node_id=order.pickup_node_id,
    )


def _actual_met(decision: RoutingDecision) -> bool | None:
    return decision.promise_met


def route_simulate(
    *, policy: PolicySpec, merchant_id: int, since: datetime, until: datetime | None = None,
    stock: str = "ledger", limit: int | None = None,
) -> Report:  # fmt: skip
    """Replay the merchant's orders first routed since `since` under `policy`; reserve nothing."""
    report = Report(policy_label=policy.label, stock_basis=stock, since=since.date())
    decisions = (
        RoutingDecision.objects.filter(order__merchant_id=merchant_id, trigger__in=FIRST_RUNS, created_at__gte=since)
        .select_related("order__channel")
        .order_by("created_at", "id")
    )
    if until is not None:
        decisions = decisions.filter(created_at__lt=until)
    if limit:
        decisions = decisions[:limit]
    decisions = list(decisions)
    lines = {line.pk: line for line in OrderLine.objects.filter(order_id__in={d.order_id for d in decisions})}
    tags = dict(Product.objects.filter(pk__in={line.product_id for line in lines.values()}).values_list("pk", "tags"))
    estimator = estimator_for(merchant_id)
    for decision in decisions:
        info = _order_info(decision, lines, tags)
        asked = sum(line.quantity for line in info.lines)
        if not asked:
            report.skipped += 1
            continue
        network = network_for(
            merchant=merchant_id,
            product_ids=[line.product_id for line in info.lines],
            now=decision.created_at,
            channel_id=decision.order.channel_id,
            stock=StockAsOf(decision.created_at) if stock == "ledger" else StockAsOf(),
        )
        plan: Plan = plan_order(info, network, policy, now=decision.created_at, estimator=estimator)
        placed_before = sum(step_q for step in (decision.details or {}).get("plan", [])
                            for step_q in (item["quantity"] for item in step["lines"]))  # fmt: skip
        report.actual.add(
            asked=asked, placed=placed_before, cost=decision.estimated_cost, shipments=decision.shipments,
            promise_met=_actual_met(decision), distance=decision.mean_distance_km, nodes=list(decision.nodes),
        )  # fmt: skip
        placed_now = sum(a.quantity for a in plan.allocations)
        report.simulated.add(
            asked=asked, placed=placed_now, cost=plan.estimated_cost, shipments=plan.shipments,
            promise_met=plan.promise_met, distance=plan.mean_distance_km, nodes=plan.node_codes,
        )  # fmt: skip
        before = sorted((step["node"], item["sku"], item["quantity"]) for step in (decision.details or {}).get(
            "plan", []) for item in step["lines"])  # fmt: skip
        after = sorted((a.node_code, a.sku, a.quantity) for a in plan.allocations)
        if before != after:
            report.differing += 1
            if len(report.examples) < 5:
                report.examples.append(
                    {"order": info.number, "happened": decision.explanation, "simulated": plan.explanation}
                )
    return report


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "—"


def _delta_pts(a: int, a_whole: int, b: int, b_whole: int) -> str:
    if not a_whole or not b_whole:
        return ""
    return f"{100 * (b / b_whole - a / a_whole):+.1f} pts"


def report_lines(report: Report) -> list[str]:
    """The report as printed by `route_simulate`: a side-by-side table, then nodes used."""
    a, s = report.actual, report.simulated
    basis = (
        "the stock each node had when the order was routed (reconstructed from the ledger)"
        if report.stock_basis == "ledger"
        else "CURRENT stock (not what the nodes had when the orders were routed)"
    )
    cost_change = s.cost - a.cost
    rows: list[tuple[str, str, str, str]] = [
        ("orders replayed", str(a.orders), str(s.orders), ""),
        ("fully allocated", f"{a.complete} ({_pct(a.complete, a.orders)})",
         f"{s.complete} ({_pct(s.complete, s.orders)})", _delta_pts(a.complete, a.orders, s.complete, s.orders)),
        ("units placed", f"{a.units_placed} of {a.units_asked}", f"{s.units_placed} of {s.units_asked}", ""),
        ("estimated cost", f"{a.cost:.2f}", f"{s.cost:.2f}",
         f"{cost_change:+.2f}" + (f" ({100 * cost_change / a.cost:+.1f}%)" if a.cost else "")),
        ("split rate", _pct(a.split, a.orders), _pct(s.split, s.orders), _delta_pts(a.split, a.orders, s.split,
                                                                                      s.orders)),
        ("promise-met rate", _pct(a.promise_met, a.promised), _pct(s.promise_met, s.promised),
         _delta_pts(a.promise_met, a.promised, s.promise_met, s.promised)),
        ("mean distance (km)", f"{a.mean_distance:.0f}" if a.mean_distance is not None else "—",
         f"{s.mean_distance:.0f}" if s.mean_distance is not None else "—",
         f"{s.mean_distance - a.mean_distance:+.0f}" if a.mean_distance is not None and s.mean_distance is not None
         else ""),
        ("orders routed differently", "", str(report.differing), ""),
    ]  # fmt: skip
    out = [
        f"Replaying orders first routed since {report.since:%Y-%m-%d} under {report.policy_label}",
        f"Stock: {basis}. Nothing is reserved.",
        "",
    ]
    out += _table(("metric", "what happened", "simulated", "change"), rows)
    nodes = sorted(set(a.nodes) | set(s.nodes))
    if nodes:
        out += ["", "Nodes used (orders shipping from each):"]
        used = [(n, str(a.nodes[n]), str(s.nodes[n]), f"{s.nodes[n] - a.nodes[n]:+d}") for n in nodes]
        out += _table(("node", "what happened", "simulated", "change"), used)
    if report.examples:
        out += ["", "For example:"]
        for ex in report.examples:
            out += [f"  {ex['order']}: happened: {ex['happened']}", f"  {' ' * len(ex['order'])}  simulated: "
                    f"{ex['simulated']}"]  # fmt: skip
    if report.skipped:
        out.append(f"\n{report.skipped} decision(s) had nothing to route and were skipped.")
    return out


def _table(headers: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    cells = [headers, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:],
                                                                                         strict=True))]))  # fmt: skip
    return lines
