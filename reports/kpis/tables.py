"""The dashboard's tables as rows: shared by the page, its CSV export and the `kpis` command."""

from __future__ import annotations

from reports.kpis.bands import BANDS
from reports.kpis.report import KpiReport


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _band(key: str, name: str) -> str:
    bands = BANDS.get(key.removesuffix("_p50").removesuffix("_p90"))
    if not bands:
        return ""
    low, high = bands[name]  # type: ignore[literal-required]
    return f"{low:g}–{high:g}"


def summary_rows(report: KpiReport) -> list[list[str]]:
    rows = [["KPI", "value", "unit", "numerator", "denominator", "band", "solid", "leaders"]]
    for f in report.figures:
        rows.append([f.label, _fmt(f.value), f.unit, _fmt(f.numerator), _fmt(f.denominator), f.band,
                     _band(f.key, "solid"), _band(f.key, "leaders")])  # fmt: skip
    return rows


def daily_rows(report: KpiReport) -> list[list[str]]:
    keys = [f.key for f in report.figures]
    rows = [["day", *keys]]
    for i, day in enumerate(report.days):
        rows.append([day.isoformat(), *(_fmt(report.series[k][i]) for k in keys)])
    return rows


def exception_rows(report: KpiReport) -> list[list[str]]:
    rows = [["type", "raised", "closed", "open", "met SLA", "missed SLA", "attainment %"]]
    for r in report.exceptions:
        rows.append([r.type, str(r.raised), str(r.closed), str(r.open), str(r.met), str(r.missed), _fmt(r.attainment)])
    return rows


def return_rows(report: KpiReport) -> list[list[str]]:
    rows = [["reason", "units returned", "units shipped", "return rate %"]]
    for r in report.returns:
        rows.append([r.reason, str(r.units), str(r.shipped), _fmt(r.rate)])
    return rows
