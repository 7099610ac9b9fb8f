"""Read queries for orders."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from oms.errors import InvalidInput, NotFound
from oms.models import Merchant
from orders.filters import OrderFilter
from orders.models import Order, OrderEvent

# What later apps show of theirs with an order (fulfillment: each line's allocations), added in
# their AppConfig.ready() so the order API stays a fixed number of queries whatever its size.
ORDER_PREFETCHES: list[str | Prefetch] = []


def order_list(*, merchant: Merchant, filters: Any = None) -> QuerySet[Order]:
    qs = (
        Order.objects.filter(merchant=merchant)
        .select_related("channel", "pickup_node")
        .prefetch_related("lines", "payments", "holds", *ORDER_PREFETCHES)
    )
    filterset = OrderFilter(filters or {}, queryset=qs)
    if not filterset.is_valid():
        raise InvalidInput.from_form_errors(filterset.errors)
    return filterset.qs


def order_get(*, merchant: Merchant, number: str) -> Order:
    """The order with everything its page shows; another merchant's order is NotFound."""
    order = (
        Order.objects.filter(merchant=merchant, number=number)
        .select_related("channel", "pickup_node", "merchant", "fraud_decision")
        .prefetch_related(
            "lines",
            "payments",
            "holds",
            Prefetch("events", OrderEvent.objects.order_by("created_at", "id")),
            *ORDER_PREFETCHES,
        )
        .first()
    )
    if order is None:
        raise NotFound(f"No order {number}.")
    return order
