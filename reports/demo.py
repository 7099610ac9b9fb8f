"""Demo figures for the KPI dashboard and the ERP feed: the nightly jobs' own services, run over
the demo's days. The demo orders are captured today, and the rollup covers whole days before
today only, so the first demo orders are moved to yesterday first (as if they had come in then).
Idempotent: the rollup recomputes its days, the export writes only what it has not written."""

from __future__ import annotations

import datetime as dt

from django.db.models import F
from django.utils import timezone

from oms.models import Merchant
from orders.models import Order
from reports.erp import erp_day_export
from reports.rollup import kpi_days_rollup

# The oldest demo orders by capture, placed the day before the demo runs.
YESTERDAYS_ORDERS = 6


def seed_reports(merchant: Merchant) -> None:
    today = timezone.now().date()
    yesterday = today - dt.timedelta(days=1)
    start = dt.datetime.combine(yesterday, dt.time.min, tzinfo=dt.UTC)
    if not Order.objects.filter(merchant=merchant, created_at__lt=start + dt.timedelta(days=1)).exists():
        oldest = Order.objects.filter(merchant=merchant).order_by("created_at", "pk")[:YESTERDAYS_ORDERS]
        Order.objects.filter(pk__in=list(oldest.values_list("pk", flat=True))).update(
            created_at=F("created_at") - dt.timedelta(days=1)
        )
    kpi_days_rollup(since=yesterday, until=yesterday)
    for day in (yesterday, today):
        erp_day_export(day=day)
