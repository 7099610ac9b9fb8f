from __future__ import annotations

from celery import shared_task

from reports.erp import erp_recent_days_export
from reports.rollup import kpi_recent_days_rollup


@shared_task
def kpis_rollup() -> int:
    return kpi_recent_days_rollup()


@shared_task
def erp_export() -> int:
    return erp_recent_days_export()
