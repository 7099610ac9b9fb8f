"""The ERP export: orders, invoices (one per shipment) and credit notes (one per succeeded
refund) as JSON documents, one per line (schema in docs/FINANCE.md).

A beat job writes each business day's records once (the day an order was captured, a
shipment shipped, a refund completed); re-running a day adds only what is missing, so an
ERP reading by cursor (`ErpRecord.id`) sees every document exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from fulfillment.models import Shipment
from orders.models import Order, OrderLine
from orders.payments.models import Refund
from reports.models import ErpRecord

SCHEMA_VERSION = 1
# Late arrivals (a refund completed just after midnight) are picked up by re-running recent days.
ERP_LOOKBACK_DAYS = 3


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _order_doc(order: Order) -> dict[str, Any]:
    return {
        "type": "order", "schema": SCHEMA_VERSION, "number": order.number, "merchant": order.merchant.code,
        "channel": order.channel.code, "external_id": order.external_id, "captured_at": order.created_at.isoformat(),
        "currency": order.currency, "customer_email": order.email, "status": order.status,
        "shipping": _money(order.shipping_price), "shipping_tax": _money(order.shipping_tax),
        "total": _money(order.total),
        "lines": [
            {"position": line.position, "sku": line.sku, "name": line.name, "quantity": line.quantity,
             "unit_price": _money(line.unit_price), "discount": _money(line.discount), "tax": _money(line.tax)}
            for line in order.lines.all()
        ],
    }  # fmt: skip


def _invoice_doc(shipment: Shipment) -> dict[str, Any]:
    """An invoice for what one shipment carried, priced at the order lines' unit prices."""
    order = shipment.order
    lines = []
    for item in shipment.lines.all():
        line: OrderLine = item.order_line
        share = Decimal(item.quantity) / line.quantity
        lines.append({
            "sku": line.sku, "quantity": item.quantity, "unit_price": _money(line.unit_price),
            "net": _money(line.unit_price * item.quantity - line.discount * share), "tax": _money(line.tax * share),
        })  # fmt: skip
    return {
        "type": "invoice", "schema": SCHEMA_VERSION, "number": f"INV-{shipment.pk}", "order": order.number,
        "merchant": order.merchant.code, "currency": order.currency, "shipped_at": shipment.shipped_at.isoformat(),
        "tracking_number": shipment.tracking_number, "lines": lines,
        "net": _money(sum((Decimal(x["net"]) for x in lines), Decimal(0))),
        "tax": _money(sum((Decimal(x["tax"]) for x in lines), Decimal(0))),
    }  # fmt: skip


def _credit_note_doc(refund: Refund) -> dict[str, Any]:
    return {
        "type": "credit_note", "schema": SCHEMA_VERSION, "number": f"CN-{refund.pk}", "order": refund.order.number,
        "merchant": refund.order.merchant.code, "currency": refund.currency,
        "completed_at": refund.completed_at.isoformat() if refund.completed_at else None,
        "amount": _money(refund.amount), "tax": _money(refund.tax_amount), "reason": refund.reason,
        "lines": refund.lines,
    }  # fmt: skip


def _day_range(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    return start, start + dt.timedelta(days=1)


def _missing(kind: str, queryset: QuerySet[Any]) -> QuerySet[Any]:
    done = ErpRecord.objects.filter(kind=kind).values("source_id")
    return queryset.exclude(pk__in=done).order_by("pk")


@transaction.atomic
def erp_day_export(*, day: dt.date) -> int:
    """Write the day's records not written yet; return how many were added."""
    start, end = _day_range(day)
    lines = Prefetch("lines", queryset=OrderLine.objects.order_by("position"))
    orders = _missing("order", Order.objects.filter(created_at__gte=start, created_at__lt=end))
    shipments = _missing(
        "invoice", Shipment.objects.filter(shipped_at__gte=start, shipped_at__lt=end, voided_at__isnull=True)
    )
    refunds = _missing(
        "credit_note", Refund.objects.filter(status="succeeded", completed_at__gte=start, completed_at__lt=end)
    )
    records = [
        *(ErpRecord(merchant_id=o.merchant_id, day=day, kind="order", source_id=o.pk, document=_order_doc(o))
          for o in orders.select_related("merchant", "channel").prefetch_related(lines).iterator(chunk_size=500)),
        *(ErpRecord(merchant_id=s.order.merchant_id, day=day, kind="invoice", source_id=s.pk, document=_invoice_doc(s))
          for s in shipments.select_related("order__merchant").prefetch_related("lines__order_line")
          .iterator(chunk_size=500)),
        *(ErpRecord(merchant_id=r.order.merchant_id, day=day, kind="credit_note", source_id=r.pk,
                    document=_credit_note_doc(r))
          for r in refunds.select_related("order__merchant")),
    ]  # fmt: skip
    ErpRecord.objects.bulk_create(records, batch_size=1000, ignore_conflicts=True)
    return len(records)


def erp_recent_days_export() -> int:
    """The beat job: yesterday and the days before it that may have late arrivals."""
    today = timezone.now().date()
    return sum(erp_day_export(day=today - dt.timedelta(days=n)) for n in range(ERP_LOOKBACK_DAYS, 0, -1))


def erp_records_after(*, merchant_id: int, after: int, limit: int) -> list[ErpRecord]:
    """The merchant's records written after cursor `after`, oldest first."""
    return list(ErpRecord.objects.filter(merchant_id=merchant_id, pk__gt=after).order_by("pk")[:limit])


def erp_day_jsonl(*, day: dt.date, merchant_id: int | None = None) -> str:
    records = ErpRecord.objects.filter(day=day).order_by("pk")
    if merchant_id is not None:
        records = records.filter(merchant_id=merchant_id)
    return "".join(json.dumps(r.document, sort_keys=True) + "\n" for r in records)
