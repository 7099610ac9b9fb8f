"""Read queries of the returns app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Count, Max, QuerySet, Sum

from fulfillment.models import FulfillmentOrderLine
from fulfillment.tracking.models import ShipmentLine
from oms.errors import NotFound
from orders.models import Order
from returns.models import OPEN, Receipt, Return, ReturnLine, ReturnStatus, ReturnUnit


def delivered_at_by_line(order: Order) -> dict[int, datetime]:
    """When each order line was (last) delivered or collected: the return window starts there."""
    out: dict[int, datetime] = {}
    shipped = (
        ShipmentLine.objects.filter(shipment__order=order, shipment__delivered_at__isnull=False)
        .values("order_line_id")
        .annotate(at=Max("shipment__delivered_at"))
    )
    collected = (
        FulfillmentOrderLine.objects.filter(
            fulfillment_order__order=order, fulfillment_order__picked_up_at__isnull=False
        )
        .values("order_line_id")
        .annotate(at=Max("fulfillment_order__picked_up_at"))
    )
    for row in [*shipped, *collected]:
        pk = row["order_line_id"]
        out[pk] = max(out[pk], row["at"]) if pk in out else row["at"]
    return out


def units_returned_or_pending(order: Order) -> dict[int, int]:
    """Units per order line that came back or are on their way back in an open return."""
    rows = (
        ReturnUnit.objects.filter(line__rma__order=order, receipt__in=[Receipt.AWAITING, Receipt.RECEIVED])
        .exclude(line__rma__status__in=[ReturnStatus.REJECTED, ReturnStatus.CANCELLED])
        .values("line__order_line_id")
        .annotate(n=Count("pk"))
    )
    return {row["line__order_line_id"]: row["n"] for row in rows}


def _returns(scope: dict[str, Any]) -> QuerySet[Return]:
    """The caller's returns: a merchant's, or those a node receives."""
    qs = Return.objects.filter(**scope).select_related("order", "node", "carrier", "refund")
    return qs.prefetch_related("lines__units", "lines__order_line", "lines__reason")


def return_list(*, filters: dict[str, Any] | None = None, **scope: Any) -> QuerySet[Return]:
    from returns.api.filters import ReturnFilter

    return ReturnFilter(filters or {}, queryset=_returns(scope)).qs


def return_get(*, id: int, **scope: Any) -> Return:
    found = _returns(scope).prefetch_related("events").filter(pk=id).first()
    if found is None:
        raise NotFound(f"No return {id}.", field="id")
    return found


def returns_of_order(order: Order) -> QuerySet[Return]:
    return _returns({"order": order})


def return_kpis(*, merchant: Any, since: datetime | None = None) -> dict[str, Any]:
    """KPI inputs: returned units by reason (return rate by reason, against units delivered),
    units returned for a wrong item sent (order accuracy), and the receipt outcomes."""
    lines = ReturnLine.objects.filter(rma__merchant=merchant).exclude(rma__status=ReturnStatus.REJECTED)
    units = ReturnUnit.objects.filter(line__rma__merchant=merchant)
    if since is not None:
        lines, units = lines.filter(rma__created_at__gte=since), units.filter(line__rma__created_at__gte=since)
    by_reason = dict(lines.values("reason__code").annotate(n=Sum("quantity")).values_list("reason__code", "n"))
    wrong = lines.filter(reason__wrong_item=True).aggregate(n=Sum("quantity"))["n"] or 0
    receipt = dict(units.exclude(receipt=Receipt.AWAITING).values("receipt").annotate(n=Count("pk"))
                   .values_list("receipt", "n"))  # fmt: skip
    return {"units_by_reason": by_reason, "wrong_item_units": wrong, "receipt": receipt}


def open_return_of(order: Order) -> str | None:
    """The number of an open return of the order, if any (the completion job waits for it)."""
    return Return.objects.filter(order=order, status__in=OPEN).values_list("number", flat=True).first()
