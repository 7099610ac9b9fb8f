"""What routing plugs into lower apps, once, from FulfillmentConfig.ready()."""

from __future__ import annotations

from django.db.models import Prefetch


def register() -> None:
    from fulfillment.models import FulfillmentOrderLine
    from fulfillment.routing import consumers  # noqa: F401  (the outbox consumers register on import)
    from orders.selectors import ORDER_PREFETCHES

    # The order API lists each line's allocations (node, quantity) in one more query.
    allocations = Prefetch(
        "lines__fulfillment_lines", FulfillmentOrderLine.objects.select_related("fulfillment_order__node")
    )
    if not any(
        isinstance(p, Prefetch) and p.prefetch_through == allocations.prefetch_through for p in ORDER_PREFETCHES
    ):
        ORDER_PREFETCHES.append(allocations)
