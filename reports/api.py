"""Merchant API: the finance day (GET /api/v1/finance/daily/) and the ERP feed by cursor."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer
from oms.errors import FieldError, InvalidInput
from reports.erp import erp_records_after
from reports.finance import finance_day_totals, finance_day_transactions, totals_record, transaction_record

ERP_PAGE = 500


def _date(request: Request) -> dt.date:
    raw = request.query_params.get("date", "")
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput([FieldError("date", "invalid", "Give the day as YYYY-MM-DD.")]) from None


def _int(request: Request, name: str, default: int, *, minimum: int = 0) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or int(raw) < minimum:
        raise InvalidInput([FieldError(name, "invalid", f"A whole number, at least {minimum}.")])
    return int(raw)


class FinanceDailyView(MerchantAPIView):
    @extend_schema(
        operation_id="finance_daily",
        parameters=[OpenApiParameter("date", str, required=True, description="The UTC day, YYYY-MM-DD.")],
        responses={200: dict, 400: ErrorBodySerializer},
        description="The day's captures, refunds (with tax), taxes, shipping charges and net per currency, "
        "and every payment transaction behind them with its gateway reference (docs/FINANCE.md).",
    )
    def get(self, request: Request) -> Response:
        day = _date(request)
        totals = finance_day_totals(day=day, merchant_id=self.merchant.pk)
        rows = finance_day_transactions(day=day, merchant_id=self.merchant.pk)
        return Response({
            "date": day.isoformat(),
            "totals": [totals_record(day, t) for t in totals],
            "transactions": [transaction_record(day, row) for row in rows],
        })  # fmt: skip


class ErpRecordsView(MerchantAPIView):
    @extend_schema(
        operation_id="erp_records",
        parameters=[
            OpenApiParameter("after", int, description="The cursor: the last record id you have (default 0)."),
            OpenApiParameter("limit", int, description=f"At most this many (1..{ERP_PAGE})."),
        ],
        responses={200: dict, 400: ErrorBodySerializer},
        description="ERP documents (orders, invoices, credit notes) written after the cursor, oldest first; "
        "`next_after` is the cursor for the next call (docs/FINANCE.md).",
    )
    def get(self, request: Request) -> Response:
        after = _int(request, "after", 0)
        limit = min(_int(request, "limit", ERP_PAGE, minimum=1), ERP_PAGE)
        records = erp_records_after(merchant_id=self.merchant.pk, after=after, limit=limit)
        return Response({
            "records": [{"id": r.pk, "day": r.day.isoformat(), "kind": r.kind, "document": r.document}
                        for r in records],
            "next_after": records[-1].pk if records else after,
            "more": len(records) == limit,
        })  # fmt: skip
