"""Pick-up in store: packed means ready for pick-up; the customer collects it, or after the
merchant's hold period it is cancelled and its stock returned."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from fulfillment.execution.common import (
    SYSTEM,
    fo_transition,
    guard_node_action,
    lock,
    settings_for,
    units_hand_over,
)
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from oms.actors import Actor
from oms.errors import Conflict
from oms.outbox import emit
from oms.payloads import fulfillment_order_payload, order_payload
from orders.models import Order, OrderStatus
from orders.payments.models import CaptureTiming
from orders.payments.services import payment_capture_units, payment_captures_at
from orders.services.cancel import order_cancel
from orders.services.timeline import run_transition


def ready_for_pickup(order: Order, fo: FulfillmentOrder, *, actor: Actor) -> None:
    """In the packing transaction: the parcel waits at the counter; tell the customer."""
    fo_transition(fo, "await_pickup", actor=actor, event_type="fulfillment_order.ready_for_pickup")
    if order.status == OrderStatus.RELEASED:
        run_transition(order, "await_pickup", actor=actor, event_type=None)
    # Emitted even if the order header was elsewhere (a second parcel): the e-mail goes per parcel.
    emit(
        "order.ready_for_pickup",
        subject=order,
        merchant_id=order.merchant_id,
        payload=order_payload(order, location=fo.node.code, location_name=fo.node.name, fulfillment_order=fo.pk),
    )


def _pickup_reference(fo: FulfillmentOrder) -> str:
    return f"pickup:fo:{fo.pk}"


@transaction.atomic
def _check(fulfillment_order: FulfillmentOrder) -> tuple[Order, dict[int, int]]:
    order, fo, lines = lock(fulfillment_order)
    guard_node_action(order)
    if fo.status != FulfillmentStatus.READY_FOR_PICKUP:
        raise Conflict(f"Fulfilment order {fo.pk} is {fo.status}; it is not waiting for pick-up.", code="invalid_state")
    return order, {line.order_line_id: line.qty_to_ship for line in lines if line.qty_to_ship}


@transaction.atomic
def _collect(fulfillment_order: FulfillmentOrder, actor: Actor) -> FulfillmentOrder:
    order, fo, lines = lock(fulfillment_order)
    guard_node_action(order)
    # Handed over at the counter: shipped and delivered at once.
    units_hand_over(fo, lines, actor=actor, reason=f"Picked up at {fo.node}", collected=True)
    fo_transition(fo, "collect", actor=actor, event_type="fulfillment_order.picked_up")
    if order.status == OrderStatus.READY_FOR_PICKUP:
        run_transition(order, "collect", actor=actor, event_type="order.picked_up",
                       payload={"location": fo.node.code, "fulfillment_order": fo.pk})  # fmt: skip
    return fo


def fulfillment_order_picked_up(*, fulfillment_order: FulfillmentOrder, actor: Actor) -> FulfillmentOrder:
    """The customer collected it: stock consumed, payment captured where captured per shipment."""
    order, units = _check(fulfillment_order)
    if payment_captures_at(order.merchant_id, CaptureTiming.PER_SHIPMENT) and not payment_capture_units(
        order=order, units=units, reference=_pickup_reference(fulfillment_order), actor=actor
    ):
        raise Conflict(
            f"The payment capture for order {order.number} did not succeed; hand nothing over until it is resolved.",
            code="capture_failed",
        )
    return _collect(fulfillment_order, actor)


@transaction.atomic
def _expire(fo_id: int, now: datetime) -> bool:
    fo = FulfillmentOrder.objects.select_related("order").get(pk=fo_id)
    order, fo, lines = lock(fo)
    days = settings_for(order.merchant_id).pickup_hold_days
    if fo.status != FulfillmentStatus.READY_FOR_PICKUP or fo.ready_for_pickup_at + timedelta(days=days) > now:
        return False
    from fulfillment.execution.node import cancel_units

    reason = f"Not collected within {days} days"
    units = {line: line.qty_open for line in lines if line.qty_open}
    cancel_units(fo, units, reason=reason, actor=SYSTEM)
    emit(
        "fulfillment_order.pickup_expired",
        subject=fo,
        merchant_id=order.merchant_id,
        payload=fulfillment_order_payload(fo),
    )
    order_units = [{"line": line.order_line_id, "quantity": qty} for line, qty in units.items()]
    if order_units:
        order_cancel(order=order, actor=SYSTEM, reason=reason, lines=order_units)
    return True


def pickups_expire(*, now: datetime | None = None) -> int:
    """Beat job: cancel pick-ups not collected within the merchant's hold period; stock returns."""
    now = now or timezone.now()
    # Each merchant's own hold period is checked per row, under the locks.
    ids = FulfillmentOrder.objects.filter(
        status=FulfillmentStatus.READY_FOR_PICKUP, ready_for_pickup_at__lte=now
    ).values_list("pk", flat=True)
    return sum(_expire(pk, now) for pk in list(ids))
