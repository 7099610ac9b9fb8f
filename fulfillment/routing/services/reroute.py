"""Re-routing: units a node gives back (rejection, short pick) or loses (a count below what was
reserved) are routed again; the order moves back to partially_allocated or backordered as the
lines land (docs/ROUTING.md)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from django.db import transaction

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from fulfillment.routing.models import RoutingDecision, RoutingExclusion
from fulfillment.routing.services.allocation import SYSTEM, allocate_locked, order_lock
from oms.actors import Actor
from oms.errors import Conflict
from orders.models import OrderLine
from orders.services.quantities import order_lines_unallocate
from orders.services.timeline import record

# A node that rejected its part is never asked again for that order.
REJECTED_STATES = (FulfillmentStatus.REJECTED,)


def _exclude(order_id: int, fo: FulfillmentOrder, reason: str) -> None:
    RoutingExclusion.objects.get_or_create(
        order_id=order_id, node_id=fo.node_id, defaults={"reason": f"rejected its part: {reason}"[:255]}
    )


@transaction.atomic
def fulfillment_order_reject(
    *, fulfillment_order: FulfillmentOrder, reason: str, actor: Actor
) -> RoutingDecision | None:
    """A node rejects its fulfilment order: it is closed, its stock unreserved, the node excluded
    for this order, and the units routed again at once. Return the re-routing decision.

    The node's side (transition, unreserve, line quantities, `fulfillment_order.unfulfillable`)
    is fulfillment.execution's; routing adds the exclusion and routes in the same transaction.
    """
    from fulfillment.execution.node import fulfillment_order_reject as node_reject

    fo = node_reject(fulfillment_order=fulfillment_order, reason=reason, actor=actor)
    order = order_lock(fo.order_id)
    _exclude(order.pk, fo, reason)
    return allocate_locked(order=order, actor=actor, trigger=RoutingDecision.Trigger.REJECTION)


@transaction.atomic
def units_returned_reroute(
    *, fulfillment_order_id: int, since: datetime, actor: Actor = SYSTEM, reason: str = ""
) -> RoutingDecision | None:
    """Route again what a node gave back (the consumer of `fulfillment_order.unfulfillable`).

    Routing that ran after the event (e.g. `fulfillment_order_reject` above) already did it.
    """
    fo = FulfillmentOrder.objects.filter(pk=fulfillment_order_id).first()
    if fo is None:
        return None
    order = order_lock(fo.order_id)
    if RoutingDecision.objects.filter(order=order, created_at__gte=since).exists():
        return None
    fo = FulfillmentOrder.objects.get(pk=fo.pk)
    trigger = RoutingDecision.Trigger.REJECTION
    if fo.status in REJECTED_STATES:
        _exclude(order.pk, fo, fo.rejection_reason or reason)
    else:
        trigger = RoutingDecision.Trigger.SHORT_PICK
    return allocate_locked(order=order, actor=actor, trigger=trigger)


def shortfall_reroute(
    *, product_id: int, node_code: str, references: list[dict[str, object]], actor: Actor = SYSTEM, cause: str = ""
) -> list[RoutingDecision]:
    """A count fell below what was reserved: the inventory service already released the newest
    reservations. Take those units off their fulfilment orders and route them again; hold the
    order when nothing can serve them. One transaction per order."""
    lost: dict[int, int] = defaultdict(int)
    for ref in references:
        if ref.get("type") == "fulfillment.fulfillmentorder":
            lost[int(str(ref["id"]))] += int(str(ref["quantity"]))
    by_order: dict[int, dict[int, int]] = defaultdict(dict)
    for fo_id, order_id in FulfillmentOrder.objects.filter(pk__in=list(lost)).values_list("pk", "order_id"):
        by_order[order_id][fo_id] = lost[fo_id]
    decisions = []
    for order_id in sorted(by_order):
        decision = _shortfall_one(order_id, by_order[order_id], product_id, node_code, actor, cause)
        if decision is not None:
            decisions.append(decision)
    return decisions


@transaction.atomic
def _shortfall_one(
    order_id: int, lost: dict[int, int], product_id: int, node_code: str, actor: Actor, cause: str
) -> RoutingDecision | None:
    from fulfillment.execution.common import fo_transition

    order = order_lock(order_id)
    taken: dict[int, int] = defaultdict(int)
    for fo_id in sorted(lost):
        fo = FulfillmentOrder.objects.select_for_update(of=("self",)).select_related("node").get(pk=fo_id)
        fo.order = order
        left = lost[fo_id]
        lines = (
            FulfillmentOrderLine.objects.select_for_update(of=("self",))
            .filter(fulfillment_order=fo, order_line__product_id=product_id)
            .order_by("-pk")
        )
        for line in lines:
            n = min(left, line.qty_open)
            if n <= 0:
                continue
            line.qty_cancelled += n
            line.save(update_fields=["qty_cancelled"])
            taken[line.order_line_id] += n
            left -= n
        if all(line.qty_open == 0 for line in fo.lines.all()) and fo.status not in (
            FulfillmentStatus.CANCELLED, FulfillmentStatus.REJECTED, FulfillmentStatus.SHIPPED,
            FulfillmentStatus.DELIVERED,
        ):  # fmt: skip
            fo_transition(fo, "cancel", actor=actor, reason=f"Stock lost at {fo.node.code}: {cause}",
                          event_type="fulfillment_order.cancelled")  # fmt: skip
    if not taken:
        return None
    order_lines_unallocate(units=taken, backorder=True)
    skus = dict(OrderLine.objects.filter(pk__in=list(taken)).values_list("pk", "sku"))
    described = ", ".join(f"{skus[pk]} × {n}" for pk, n in taken.items())
    record(order, "stock_lost", actor=actor, reason=f"{node_code} lost reserved stock ({cause}): {described}",
           payload={"node": node_code, "lines": {str(k): v for k, v in taken.items()}})  # fmt: skip
    hold = f"Stock lost at {node_code} and no other node can serve {described}; find stock or cancel the lines."
    return allocate_locked(order=order, actor=actor, trigger=RoutingDecision.Trigger.SHORTFALL, hold_unfilled=hold)


# States in which a CSR may ask routing to run again (the order page offers the button only then).
ROUTE_AGAIN_STATES = ("ready", "allocated", "partially_allocated", "backordered", "released", "partially_shipped")


def order_route_again(*, order_id: int, actor: Actor) -> RoutingDecision | None:
    """A CSR asks routing to try again now (e.g. after moving stock)."""
    with transaction.atomic():
        order = order_lock(order_id)
        if order.status not in ROUTE_AGAIN_STATES:
            raise Conflict(f"Order {order.number} is {order.status}; routing cannot run now.", code="invalid_state")
        return allocate_locked(order=order, actor=actor, trigger=RoutingDecision.Trigger.CSR)


# Amended fields that change where or how an order should ship (or what: added or substituted lines).
ROUTING_INPUTS = {"shipping_address", "shipping.service_level", "fulfillment", "lines"}


@transaction.atomic
def order_reroute_after_amendment(*, order_id: int, actor: Actor = SYSTEM) -> RoutingDecision | None:
    """The destination, service level or pick-up store changed before release: give back what is
    allocated at nodes that have not been sent their part yet and route the whole order again
    under the new inputs. Return the decision, or None when the order is not routed yet."""
    from fulfillment.execution.node import cancel_units

    order = order_lock(order_id)
    if order.status not in ("allocated", "partially_allocated", "backordered"):
        return None
    for fo in order.fulfillment_orders.filter(status=FulfillmentStatus.CREATED):
        units = {line: line.qty_open for line in fo.lines.select_related("order_line") if line.qty_open}
        cancel_units(fo, units, reason="order amended; routed again", actor=actor)
    order = order_lock(order_id)
    return allocate_locked(order=order, actor=actor, trigger=RoutingDecision.Trigger.AMENDMENT)
