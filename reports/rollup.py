"""The KPI daily rollup: recompute any days from the source rows (docs/KPIS.md)."""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.utils import timezone

from reports.kpis import sql
from reports.kpis.filters import KpiFilters
from reports.models import KpiCycleBucket, KpiDay, KpiRollupRun

# Returns and late deliveries change past days' figures: the nightly job recomputes this many.
ROLLUP_LOOKBACK_DAYS = 35
ROLLUP_LOCK = 0x4B504931  # an arbitrary advisory-lock key, "KPI1"


@transaction.atomic
def kpi_days_rollup(*, since: dt.date, until: dt.date) -> int:
    """Recompute the rollup of [since, until] (whole days before today only); return the rows."""
    until = min(until, timezone.now().date() - dt.timedelta(days=1))
    if until < since:
        return 0
    if connection.vendor == "postgresql":
        # Two runs at once (a slow nightly job and a manual one) would both delete and then
        # insert the same days: the second waits for the first instead of failing on the keys.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])
    filters = KpiFilters(since, until)
    parts, buckets = sql.components(filters), sql.cycle_buckets(filters)
    KpiDay.objects.filter(day__gte=since, day__lte=until).delete()
    KpiCycleBucket.objects.filter(day__gte=since, day__lte=until).delete()
    KpiDay.objects.bulk_create(
        [KpiDay(day=d, merchant_id=m, channel_id=c, **values) for (d, m, c), values in parts.items()],
        batch_size=2000,
    )
    KpiCycleBucket.objects.bulk_create(
        [
            KpiCycleBucket(day=d, merchant_id=m, channel_id=c, minutes=minutes, orders=n)
            for (d, m, c), histogram in buckets.items()
            for minutes, n in histogram.items()
        ],
        batch_size=5000,
    )
    now = timezone.now()
    KpiRollupRun.objects.filter(day__gte=since, day__lte=until).delete()
    KpiRollupRun.objects.bulk_create([KpiRollupRun(day=day, computed_at=now) for day in filters.days()])
    return len(parts)


def kpi_recent_days_rollup() -> int:
    """The nightly job: yesterday and the days before it that may still change."""
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    return kpi_days_rollup(since=yesterday - dt.timedelta(days=ROLLUP_LOOKBACK_DAYS - 1), until=yesterday)
