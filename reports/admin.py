"""The KPI dashboard, its drill-down and CSV exports; the finance day and the ERP records."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from inventory.models import Node
from oms.admin import ReadOnlyAdmin
from oms.models import Channel, Merchant
from orders.models import Order
from reports.erp import erp_day_jsonl
from reports.finance import finance_day_csv, finance_day_totals, finance_day_transactions
from reports.kpis import sql
from reports.kpis.bands import BANDS
from reports.kpis.exceptions import exception_sla_table
from reports.kpis.filters import KpiFilters
from reports.kpis.report import KpiReport, kpi_report
from reports.kpis.tables import daily_rows, exception_rows, return_rows, summary_rows
from reports.models import ErpRecord, KpiDay

DRILL_LIMIT = 500
# The chart of each figure key (the two cycle-time percentiles share one).
CHARTS = [
    ("order_accuracy", "Order accuracy (%)", ["order_accuracy"]),
    ("perfect_order_rate", "Perfect order rate (%)", ["perfect_order_rate"]),
    ("cycle_time", "Order cycle time, capture to ship (h)", ["cycle_time_p50", "cycle_time_p90"]),
    ("on_time_delivery", "On-time delivery (%)", ["on_time_delivery"]),
    ("fill_rate", "Fill rate (%)", ["fill_rate"]),
    ("split_rate", "Split rate (%)", ["split_rate"]),
    ("backorder_rate", "Backorder rate (%)", ["backorder_rate"]),
    ("cost_per_order", "Cost per order", ["cost_per_order"]),
]


def _csv(name: str, rows: list[list[str]]) -> HttpResponse:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


def _id(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "")
    return int(raw) if raw.isdigit() else None


def _date(request: HttpRequest, name: str, default: dt.date) -> dt.date:
    try:
        return dt.date.fromisoformat(request.GET.get(name, ""))
    except ValueError:
        return default


def _filters(request: HttpRequest) -> KpiFilters:
    today = timezone.now().date()
    until = _date(request, "until", today)
    since = min(_date(request, "since", until - dt.timedelta(days=29)), until)
    return KpiFilters(since, until, _id(request, "merchant"), _id(request, "channel"), _id(request, "node"))


@admin.register(KpiDay)
class KpiDashboardAdmin(ReadOnlyAdmin):
    """The changelist of the rollup is the dashboard: Admin and Operations see it all, a CSR
    lead (view_exception_kpis alone) the exception and SLA part."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return user.has_perm("reports.view_kpis") or user.has_perm("reports.view_exception_kpis")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_urls(self) -> list[URLPattern]:
        drill = path("orders/", self.admin_site.admin_view(self.drill_view), name="reports_kpi_orders")
        return [drill, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        filters = _filters(request)
        full = request.user.has_perm("reports.view_kpis")
        # The exception part alone is one small query: an exceptions-only viewer does not pay
        # for the order KPIs.
        if full:
            report = kpi_report(filters=filters)
        else:
            report = KpiReport(filters=filters, figures=[], exceptions=exception_sla_table(filters=filters))
        export = request.GET.get("export")
        tables = {"exceptions": exception_rows}
        if full:
            tables |= {"summary": summary_rows, "daily": daily_rows, "returns": return_rows}
        if export in tables:
            return _csv(f"kpis-{export}-{filters.since}-{filters.until}", tables[export](report))
        charts = [
            {"id": key, "title": title, "bands": BANDS.get(key),
             "datasets": [{"label": report.figure(k).label, "data": report.series[k]} for k in keys]}
            for key, title, keys in CHARTS
        ] if full else []  # fmt: skip
        query = request.GET.copy()
        query.pop("export", None)
        context = {
            **self.admin_site.each_context(request),
            "title": "KPI dashboard",
            "opts": self.model._meta,
            "filters": filters,
            "full": full,
            "report": report,
            "figures": [(f, f.key.removesuffix("_p50").removesuffix("_p90")) for f in report.figures],
            "chart_data": {"days": [d.isoformat() for d in report.days], "charts": charts,
                           "exceptions": [{"type": r.type, "raised": r.raised, "attainment": r.attainment}
                                          for r in report.exceptions],
                           "returns": [{"reason": r.reason, "rate": r.rate} for r in report.returns] if full else []},
            "merchants": Merchant.objects.all(),
            "channels": Channel.objects.select_related("merchant"),
            "nodes": Node.objects.all(),
            "query": query.urlencode(),
            "drill_url": reverse("admin:reports_kpi_orders"),
            "drillable": set(sql.DRILL),
        }  # fmt: skip
        return TemplateResponse(request, "reports/dashboard.html", context)

    def drill_view(self, request: HttpRequest) -> HttpResponse:
        """The orders behind one figure (those that miss it, or all it counted)."""
        if not request.user.has_perm("reports.view_kpis"):
            raise PermissionDenied
        kpi = request.GET.get("kpi", "")
        if kpi not in sql.DRILL:
            kpi = "order_accuracy"
        filters = _filters(request)
        misses = request.GET.get("all") != "1"
        reason = request.GET.get("reason", "")
        ids = sql.grain_order_ids(filters, kpi=kpi, misses=misses, limit=DRILL_LIMIT, reason=reason)
        orders = Order.objects.filter(pk__in=ids).select_related("merchant", "channel").order_by("-pk")
        if request.GET.get("export") == "orders":
            rows = [["order", "merchant", "channel", "status", "captured_at", "promise_date"]]
            rows += [[o.number, o.merchant.code, o.channel.code, o.status, o.created_at.isoformat(),
                      str(o.promise_date or "")] for o in orders]  # fmt: skip
            return _csv(f"kpi-{kpi}-{'misses' if misses else 'all'}", rows)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Orders behind {kpi.replace('_', ' ')} {reason}".rstrip()
            + (" (misses)" if misses else " (all counted)"),
            "opts": self.model._meta,
            "orders": orders,
            "limit": DRILL_LIMIT,
            "filters": filters,
            "query": request.GET.urlencode(),
        }
        return TemplateResponse(request, "reports/drill.html", context)


@admin.register(ErpRecord)
class ErpRecordAdmin(ReadOnlyAdmin):
    """ERP records, and the finance day (totals, transactions, CSV and the day's ERP file)."""

    list_display = ["id", "day", "kind", "merchant", "source_id", "created_at"]
    list_filter = ["kind", "merchant", "day"]
    change_list_template = "reports/erp_changelist.html"

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("reports.view_finance_export")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_urls(self) -> list[URLPattern]:
        finance = path("finance/", self.admin_site.admin_view(self.finance_view), name="reports_finance_day")
        return [finance, *super().get_urls()]

    def finance_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        day = _date(request, "date", timezone.now().date() - dt.timedelta(days=1))
        merchant_id = _id(request, "merchant")
        if request.GET.get("export") == "csv":
            response = HttpResponse(finance_day_csv(day=day, merchant_id=merchant_id), content_type="text/csv")
            response["Content-Disposition"] = f'attachment; filename="finance-{day}.csv"'
            return response
        if request.GET.get("export") == "erp":
            response = HttpResponse(erp_day_jsonl(day=day, merchant_id=merchant_id), content_type="application/jsonl")
            response["Content-Disposition"] = f'attachment; filename="erp-{day}.jsonl"'
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": f"Finance day {day}",
            "opts": self.model._meta,
            "day": day,
            "merchant_id": merchant_id,
            "merchants": Merchant.objects.all(),
            "totals": finance_day_totals(day=day, merchant_id=merchant_id),
            "transactions": finance_day_transactions(day=day, merchant_id=merchant_id),
        }
        return TemplateResponse(request, "reports/finance_day.html", context)
