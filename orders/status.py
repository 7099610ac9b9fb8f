"""The order header's status from its lines' quantities: one pure function, one place.

Line quantities: `quantity` ordered, `qty_cancelled`, `qty_allocated` (reserved at a node, not
yet shipped), `qty_backordered`, `qty_shipped`, `qty_delivered` (delivered or picked up).
"""

from __future__ import annotations

from collections.abc import Iterable

from orders.models import OrderLine, OrderStatus


def status_from_lines(lines: Iterable[OrderLine]) -> str:
    """Return the status the quantities call for, from allocation on.

    `released`, `ready_for_pickup` and `picked_up` are steps of the flow, not of quantities: the
    caller keeps them while the quantities say `allocated` (resp. `delivered` for a pick-up).
    """
    live = [line for line in lines if line.quantity > line.qty_cancelled]
    if not live:
        return OrderStatus.CANCELLED
    wanted = {line.pk: line.quantity - line.qty_cancelled for line in live}
    if all(line.qty_delivered >= wanted[line.pk] for line in live):
        return OrderStatus.DELIVERED
    if all(line.qty_shipped >= wanted[line.pk] for line in live):
        return OrderStatus.SHIPPED
    if any(line.qty_shipped for line in live):
        return OrderStatus.PARTIALLY_SHIPPED
    if all(line.qty_allocated >= wanted[line.pk] for line in live):
        return OrderStatus.ALLOCATED
    if any(line.qty_allocated for line in live):
        return OrderStatus.PARTIALLY_ALLOCATED
    return OrderStatus.BACKORDERED
