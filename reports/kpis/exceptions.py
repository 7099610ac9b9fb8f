"""Exception volume and SLA attainment by type (docs/KPIS.md)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from reports.kpis import sql
from reports.kpis.filters import KpiFilters

# An exception meets its SLA when it is closed (resolved or dismissed) by its own resolve deadline
# (set from its type's policy when raised, oms.exception_policy); one raised without a deadline
# must be closed within this many hours.
SLA_HOURS = 24


@dataclass(frozen=True)
class ExceptionRow:
    type: str
    raised: int
    closed: int
    open: int
    met: int  # closed within the SLA
    missed: int  # closed late, or still open past the SLA

    @property
    def attainment(self) -> float | None:
        decided = self.met + self.missed
        return round(100 * self.met / decided, 2) if decided else None


def exception_sla_table(*, filters: KpiFilters) -> list[ExceptionRow]:
    """Exceptions raised in the range (by merchant, when filtered), per type, with their SLA."""
    elapsed = sql.minutes_between("e.created_at", "COALESCE(e.resolved_at, %(now)s)")
    closed = "e.status IN ('resolved', 'dismissed')"
    on_time = (
        f"CASE WHEN e.resolve_due_at IS NULL THEN {elapsed} <= %(sla)s"
        " ELSE COALESCE(e.resolved_at, %(now)s) <= e.resolve_due_at END"
    )
    query = f"""
        SELECT e.type, COUNT(*) AS raised,
               SUM({sql.flag(closed)}) AS closed,
               SUM({sql.flag(f"NOT {closed}")}) AS open,
               SUM({sql.flag(f"{closed} AND {on_time}")}) AS met,
               SUM({sql.flag(f"NOT ({on_time})")}) AS missed
        FROM oms_opsexception e
        WHERE e.created_at >= %(start)s AND e.created_at < %(end)s
              {"AND e.merchant_id = %(merchant)s" if filters.merchant_id is not None else ""}
        GROUP BY e.type ORDER BY raised DESC, e.type"""
    params = {**sql.params(filters), "now": timezone.now(), "sla": SLA_HOURS * 60}
    return [ExceptionRow(**{k: (v if k == "type" else int(v or 0)) for k, v in row.items()})
            for row in sql.rows(query, params)]  # fmt: skip
