"""Keep the header's allocation state in step with its lines' quantities."""

from __future__ import annotations

from typing import Any

from oms.actors import Actor
from orders.models import Order, OrderLine, OrderStatus
from orders.services.timeline import Pending, run_transition
from orders.status import status_from_lines

# The transition that leads to each allocation state (from ready or from one another).
ALLOCATION_TRANSITIONS = {
    OrderStatus.ALLOCATED: "allocate",
    OrderStatus.PARTIALLY_ALLOCATED: "allocate_partially",
    OrderStatus.BACKORDERED: "backorder",
}
# States from which the lines may move the header to an allocation state.
RECONCILABLE = [
    OrderStatus.READY,
    OrderStatus.ALLOCATED,
    OrderStatus.PARTIALLY_ALLOCATED,
    OrderStatus.BACKORDERED,
    OrderStatus.RELEASED,
]


def order_allocation_reconcile(
    order: Order,
    lines: list[OrderLine],
    *,
    actor: Actor,
    reason: str,
    payload: dict[str, Any] | None = None,
    pending: Pending | None = None,
) -> bool:
    """Move the (locked) order to the allocation state its lines call for; return whether it
    moved (its timeline row left to `pending`, if given)."""
    target = status_from_lines(lines)
    transition = ALLOCATION_TRANSITIONS.get(target)
    if transition is None or order.status == target or order.status not in RECONCILABLE:
        return False
    run_transition(
        order, transition, actor=actor, event_type=None, reason=reason, payload=payload or {}, pending=pending
    )
    return True
