"""Keep the header's status in step with its lines' quantities: the one place that does it.

Routing, fulfilment, tracking and cancellation change line quantities (orders.services.quantities,
orders.services.cancel) and then call `order_status_reconcile`; none of them runs these
transitions itself.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from oms.actors import Actor
from orders.models import ROUTED, Order, OrderLine, OrderStatus
from orders.services.timeline import Pending, run_transition
from orders.status import status_from_lines


class Step(NamedTuple):
    transition: str
    event_type: str | None
    sources: frozenset[str]


# Routing moves between the allocation states (from ready, or back from released on a re-route);
# it emits its own events, with the decision. A shipment moves a released order on, or one a
# re-route moved back to an allocation state.
_ALLOCATING = frozenset({OrderStatus.READY, *ROUTED, OrderStatus.RELEASED})
_SHIPPING = frozenset({OrderStatus.RELEASED, OrderStatus.PARTIALLY_SHIPPED, *ROUTED})
STEPS = {
    OrderStatus.ALLOCATED: Step("allocate", None, _ALLOCATING),
    OrderStatus.PARTIALLY_ALLOCATED: Step("allocate_partially", None, _ALLOCATING),
    OrderStatus.BACKORDERED: Step("backorder", None, _ALLOCATING),
    OrderStatus.PARTIALLY_SHIPPED: Step("ship_partially", "order.partially_shipped", _SHIPPING),
    OrderStatus.SHIPPED: Step("ship", "order.shipped", _SHIPPING),
    OrderStatus.DELIVERED: Step("deliver", "order.delivered", frozenset({OrderStatus.SHIPPED})),
}


def _take(
    order: Order, target: str, actor: Actor, reason: str, payload: dict[str, Any], pending: Pending | None
) -> bool:
    step = STEPS.get(target)
    if step is None or order.status == target or order.status not in step.sources:
        return False
    run_transition(
        order, step.transition, actor=actor, event_type=step.event_type, reason=reason, payload=payload,
        pending=pending,
    )  # fmt: skip
    return True


def order_status_reconcile(
    order: Order,
    lines: list[OrderLine] | None = None,
    *,
    actor: Actor,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    pending: Pending | None = None,
) -> bool:
    """Move the (locked) order to the status its lines call for (read from the database unless
    given); return whether it moved (its timeline rows and events left to `pending`, if given).

    `released`, `ready_for_pickup` and `picked_up` are steps of the flow that the quantities do
    not record: a caller that must keep `released` while the lines say `allocated` does not call.
    """
    target = status_from_lines(order.lines.all() if lines is None else lines)
    payload = payload or {}
    # A last shipment delivered before the header shipped: ship, then deliver.
    shipped = target == OrderStatus.DELIVERED and _take(order, OrderStatus.SHIPPED, actor, reason, payload, pending)
    return _take(order, target, actor, reason, payload, pending) or shipped
