"""A KPI report for a range: the figures, their daily series and the exception/SLA table.

Days the rollup has finished (`KpiRollupRun`) are read from `KpiDay`/`KpiCycleBucket`; the
other days (today, or a range filtered by node, which the rollup does not carry) come straight
from the source rows through the same SQL (reports/kpis/sql.py).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from reports.kpis import sql
from reports.kpis.bands import band_of
from reports.kpis.exceptions import ExceptionRow, exception_sla_table
from reports.kpis.filters import KpiFilters
from reports.models import KpiDay, KpiRollupRun

COLUMNS = [name for sums in sql.SUMS.values() for name in sums]


@dataclass
class Figure:
    key: str
    label: str
    value: float | None
    unit: str  # "%", "h" or a currency-less amount ("")
    numerator: Any = None
    denominator: Any = None

    @property
    def band(self) -> str:
        return band_of(self.key.removesuffix("_p50").removesuffix("_p90"), self.value)


@dataclass(frozen=True)
class ReturnRow:
    reason: str
    units: int
    shipped: int  # units shipped in the range: the rate's denominator

    @property
    def rate(self) -> float | None:
        return _ratio(self.units, self.shipped)


@dataclass
class KpiReport:
    filters: KpiFilters
    figures: list[Figure]
    # One list of per-day values per figure key, aligned with `days`.
    days: list[dt.date] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)
    exceptions: list[ExceptionRow] = field(default_factory=list)
    returns: list[ReturnRow] = field(default_factory=list)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


def _rolled_days(filters: KpiFilters) -> set[dt.date]:
    if filters.node_id is not None:
        return set()
    return set(
        KpiRollupRun.objects.filter(day__gte=filters.since, day__lte=filters.until).values_list("day", flat=True)
    )


FRACTIONS = (0.5, 0.9)
Percentiles = list[float | None]


def daily_parts(filters: KpiFilters) -> tuple[dict[dt.date, Counter[str]], Percentiles, dict[dt.date, Percentiles]]:
    """The summed KpiDay columns per day, and cycle-time p50/p90 over the range and per day."""
    rolled = _rolled_days(filters)
    sums: dict[dt.date, Counter[str]] = {}
    if rolled:
        scope: dict[str, Any] = {"day__in": rolled}
        if filters.merchant_id is not None:
            scope["merchant_id"] = filters.merchant_id
        if filters.channel_id is not None:
            scope["channel_id"] = filters.channel_id
        for row in KpiDay.objects.filter(**scope).values("day").annotate(**{c: Sum(c) for c in COLUMNS}):
            day = row.pop("day")
            sums[day] = Counter({k: v or 0 for k, v in row.items()})
    unrolled = [day for day in filters.days() if day not in rolled]
    live = None
    if unrolled:
        live = KpiFilters(unrolled[0], unrolled[-1], filters.merchant_id, filters.channel_id, filters.node_id)
        for (day, _, _), parts in sql.components(live).items():
            if day not in rolled:
                sums.setdefault(day, Counter()).update(parts)
    scope_args = {"live": live, "rolled": bool(rolled), "fractions": FRACTIONS}
    overall = sql.cycle_percentiles(filters, per_day=False, **scope_args).get(None, [None] * len(FRACTIONS))
    per_day = sql.cycle_percentiles(filters, per_day=True, **scope_args)
    return sums, overall, per_day  # type: ignore[return-value]


def _ratio(numerator: Any, denominator: Any) -> float | None:
    return round(100 * float(numerator) / float(denominator), 2) if denominator else None


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def _figures(parts: Counter[str], cycle: Percentiles) -> list[Figure]:
    p = parts
    cost = Decimal(p["shipping_cost"] or 0) + Decimal(p["handling_cost"] or 0)
    return [
        Figure("order_accuracy", "Order accuracy", _ratio(p["fos_accurate"], p["fos_packed"]), "%",
               p["fos_accurate"], p["fos_packed"]),
        Figure("perfect_order_rate", "Perfect order rate", _ratio(p["orders_perfect"], p["orders_delivered"]), "%",
               p["orders_perfect"], p["orders_delivered"]),
        Figure("cycle_time_p50", "Order cycle time p50", _hours(cycle[0]), "h",
               None, p["orders_shipped"]),
        Figure("cycle_time_p90", "Order cycle time p90", _hours(cycle[1]), "h",
               None, p["orders_shipped"]),
        Figure("on_time_delivery", "On-time delivery", _ratio(p["orders_on_time"], p["orders_delivered"]), "%",
               p["orders_on_time"], p["orders_delivered"]),
        Figure("fill_rate", "Fill rate", _ratio(p["units_first_shipped"], p["units_ordered"]), "%",
               p["units_first_shipped"], p["units_ordered"]),
        Figure("split_rate", "Split rate", _ratio(p["orders_split"], p["orders_shipped"]), "%",
               p["orders_split"], p["orders_shipped"]),
        Figure("backorder_rate", "Backorder rate", _ratio(p["orders_backordered"], p["orders_captured"]), "%",
               p["orders_backordered"], p["orders_captured"]),
        Figure("cost_per_order", "Cost per order (shipping + handling)",
               float(round(cost / p["orders_shipped"], 2)) if p["orders_shipped"] else None, "",
               cost, p["orders_shipped"]),
    ]  # fmt: skip


def kpi_report(*, filters: KpiFilters) -> KpiReport:
    """Return every KPI over the range, each day's values, the return rate by reason and the
    exception SLA table."""
    sums, overall, per_day = daily_parts(filters)
    total: Counter[str] = Counter()
    for parts in sums.values():
        total.update(parts)
    report = KpiReport(filters=filters, figures=_figures(total, overall), days=filters.days())
    none = [None] * len(FRACTIONS)
    for day in report.days:
        for figure in _figures(sums.get(day, Counter()), per_day.get(day, none)):
            report.series.setdefault(figure.key, []).append(figure.value)
    by_reason = sql.return_units_by_reason(filters)
    report.returns = [ReturnRow(reason, units, total["units_shipped"]) for reason, units in sorted(by_reason.items())]
    report.exceptions = exception_sla_table(filters=filters)
    return report
