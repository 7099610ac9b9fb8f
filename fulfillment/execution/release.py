"""Release: send an order's new fulfilment orders to their nodes.

An order is released when routing has allocated it, the merchant's remorse period has passed,
it is not on hold, and its payment rule allows it: where the merchant captures at release, the
value of what each node is sent is captured first and the node gets nothing until it succeeded.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from fulfillment.execution.common import SYSTEM, fo_transition, settings_for
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from oms.actors import Actor
from orders.models import Order, OrderStatus
from orders.payments.models import CaptureTiming
from orders.payments.services import payment_capture_units, payment_captures_at
from orders.services.holds import order_lock
from orders.services.timeline import Pending, run_transition

# Order states in which new fulfilment orders may go to their nodes.
RELEASABLE = [
    OrderStatus.ALLOCATED,
    OrderStatus.PARTIALLY_ALLOCATED,
    OrderStatus.RELEASED,
    OrderStatus.PARTIALLY_SHIPPED,
]


def _releasable(order: Order, now: datetime, *, lock: bool = False) -> list[FulfillmentOrder]:
    if order.status not in RELEASABLE:
        return []
    remorse = timedelta(minutes=settings_for(order.merchant_id).remorse_minutes)
    if order.placed_at + remorse > now:
        return []
    found = FulfillmentOrder.objects.filter(order=order, status=FulfillmentStatus.CREATED).select_related("node")
    if lock:  # after the order's lock, as every service takes them
        found = found.select_for_update(of=("self",))
    return list(found.order_by("pk"))


def _capture_reference(fo: FulfillmentOrder) -> str:
    return f"release:fo:{fo.pk}"


@transaction.atomic
def _release(order_id: int, fo_ids: list[int] | None, actor: Actor, now: datetime) -> list[FulfillmentOrder] | None:
    """Release the order's releasable fulfilment orders (those of `fo_ids`, whose capture was
    taken; None: all of them, unless the merchant captures at release, then return None)."""
    order = order_lock(Order(pk=order_id))
    if fo_ids is None and payment_captures_at(order.merchant_id, CaptureTiming.AT_RELEASE):
        return None
    released = []
    pending = Pending(order.merchant_id)  # the timeline rows and events of the whole release: two INSERTs
    for fo in _releasable(order, now, lock=True):
        if fo_ids is not None and fo.pk not in fo_ids:
            continue
        fo.order = order
        fo_transition(fo, "release", actor=actor, event_type="fulfillment_order.released", pending=pending)
        released.append(fo)
    if released and order.status in (OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED):
        nodes = sorted({fo.node.code for fo in released})
        run_transition(
            order, "release", actor=actor, event_type="order.released", payload={"nodes": nodes,
            "fulfillment_orders": [fo.pk for fo in released]}, pending=pending,
        )  # fmt: skip
    pending.write()
    return released


def order_release(*, order: Order, actor: Actor = SYSTEM, now: datetime | None = None) -> list[FulfillmentOrder]:
    """Release what may be released now; return the fulfilment orders released.

    Safe to run again at any time (the beat job does): what is already released is left alone,
    and a capture asked before is found again by its reference, never taken twice.
    """
    now = now or timezone.now()
    # Without a capture at release, one transaction does it all.
    released = _release(order.pk, None, actor, now)
    if released is not None:
        return released
    with transaction.atomic():
        order = order_lock(order)
        candidates = _releasable(order, now)
    # The merchant captures at release: each node gets its part once its value is captured,
    # outside the release transaction (the gateway is called).
    ids = []
    for fo in candidates:
        units = {line.order_line_id: line.qty_open for line in fo.lines.all() if line.qty_open}
        # A decline puts the order on a payment hold (orders.payments); a pending capture is
        # retried by the payments job and the next run of this one finds it by reference.
        if payment_capture_units(order=order, units=units, reference=_capture_reference(fo), actor=actor):
            ids.append(fo.pk)
        else:
            break
    if not ids:
        return []
    return _release(order.pk, ids, actor, now) or []


def orders_release_due(now: datetime, batch: int = 500) -> list[int]:
    """Orders whose fulfilment orders wait in `created` (a remorse period, a capture at
    release, a re-route after release): the sweeper's question for the release step, which
    releases what may go now."""
    return list(
        FulfillmentOrder.objects.filter(status=FulfillmentStatus.CREATED, order__status__in=RELEASABLE)
        .values_list("order_id", flat=True)
        .distinct()
        .order_by("order_id")[:batch]
    )
