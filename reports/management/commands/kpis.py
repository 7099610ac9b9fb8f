"""`python manage.py kpis --since 2026-11-01 --until 2026-11-30 [--merchant CODE]`"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from oms.models import Merchant
from reports.kpis.filters import KpiFilters
from reports.kpis.report import kpi_report
from reports.kpis.tables import summary_rows


class Command(BaseCommand):
    help = "Print the KPI table for a date range (the dashboard's figures)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--since", type=dt.date.fromisoformat, required=True, help="First day (YYYY-MM-DD).")
        parser.add_argument("--until", type=dt.date.fromisoformat, required=True, help="Last day, inclusive.")
        parser.add_argument("--merchant", help="Merchant code (default: every merchant).")

    def handle(self, *args: Any, **options: Any) -> None:
        merchant_id = None
        if options["merchant"]:
            merchant = Merchant.objects.filter(code=options["merchant"]).first()
            if merchant is None:
                raise CommandError(f"No merchant {options['merchant']!r}.")
            merchant_id = merchant.pk
        report = kpi_report(filters=KpiFilters(options["since"], options["until"], merchant_id=merchant_id))
        rows = summary_rows(report)
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            self.stdout.write("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        for row in report.returns:
            self.stdout.write(f"return rate {row.reason}: {row.units} of {row.shipped} units, {_fmt(row.rate)}%")
        if report.exceptions:
            self.stdout.write("")
            for row in report.exceptions:
                self.stdout.write(
                    f"exceptions {row.type}: raised {row.raised}, open {row.open}, "
                    f"SLA attainment {_fmt(row.attainment)}%"
                )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"
