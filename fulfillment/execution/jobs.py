"""Beat jobs of fulfilment execution: pick delays and order completion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from fulfillment.execution.common import SYSTEM, profile_for
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from fulfillment.tracking.models import Shipment
from oms.alerts import exception_raise
from orders.models import Order, OrderStatus
from orders.services.holds import order_lock
from orders.services.timeline import run_transition

PICK_DELAY = "pick_delay"
# A higher app (returns) registers a check in its AppConfig.ready(): given the locked order, it
# names what still keeps it open (an open return), or returns None.
CompletionBlocker = Callable[[Order], "str | None"]
_completion_blockers: list[CompletionBlocker] = []


def register_completion_blocker(blocker: CompletionBlocker) -> None:
    if blocker not in _completion_blockers:
        _completion_blockers.append(blocker)


NOT_PACKED = [FulfillmentStatus.RELEASED, FulfillmentStatus.ACCEPTED, FulfillmentStatus.PICKED]


@transaction.atomic
def _pick_delay(fo_id: int, now: datetime) -> bool:
    fo = (
        FulfillmentOrder.objects.select_for_update(of=("self",)).select_related("node", "order__merchant").get(pk=fo_id)
    )
    sla = timedelta(hours=profile_for(fo.node).pick_sla_hours)
    if fo.status not in NOT_PACKED or fo.pick_delay_alerted_at or fo.released_at is None or fo.released_at + sla > now:
        return False
    hours = (now - fo.released_at).total_seconds() / 3600
    exception_raise(
        type=PICK_DELAY,
        subject=fo,
        message=f"{fo} released {hours:.0f} h ago is still {fo.status}; the node's SLA is "
        f"{sla.total_seconds() / 3600:.0f} h to pack.",
        merchant=fo.order.merchant,
        severity="high",
    )
    fo.pick_delay_alerted_at = now
    fo.save(update_fields=["pick_delay_alerted_at", "updated_at"])
    return True


def pick_delays_detect(*, now: datetime | None = None) -> int:
    """Beat job: raise a pick-delay exception, once per fulfilment order, for each not packed
    within its node's SLA."""
    now = now or timezone.now()
    # Every node's SLA is at least an hour; the exact one is checked per row.
    ids = FulfillmentOrder.objects.filter(
        status__in=NOT_PACKED, pick_delay_alerted_at__isnull=True, released_at__lte=now - timedelta(hours=1)
    ).values_list("pk", flat=True)
    return sum(_pick_delay(pk, now) for pk in list(ids))


def _last_delivery(order: Order) -> datetime | None:
    shipped = Shipment.objects.filter(order=order).aggregate(at=Max("delivered_at"))["at"]
    collected = FulfillmentOrder.objects.filter(order=order).aggregate(at=Max("picked_up_at"))["at"]
    return max((at for at in (shipped, collected) if at), default=None)


@transaction.atomic
def _complete(order_id: int, now: datetime) -> bool:
    order = order_lock(Order(pk=order_id))
    if order.status not in (OrderStatus.DELIVERED, OrderStatus.PICKED_UP):
        return False
    lines = list(order.lines.select_related("product"))
    if any(line.qty_delivered + line.qty_cancelled < line.quantity for line in lines):
        return False
    last = _last_delivery(order)
    # The longest return window among what was delivered (a final-sale item has none).
    window = max(
        (line.product.return_window_days for line in lines if line.qty_delivered and line.product.returnable),
        default=0,
    )
    if last is None or last + timedelta(days=window) > now:
        return False
    if any(blocker(order) for blocker in _completion_blockers):
        return False
    run_transition(order, "complete", actor=SYSTEM, event_type="order.completed",
                   reason=f"Return window of {window} days closed")  # fmt: skip
    return True


def orders_complete_due(*, now: datetime | None = None, batch: int = 1000) -> int:
    """Beat job: complete orders whose lines are all delivered, picked up or cancelled once the
    return window has closed."""
    now = now or timezone.now()
    ids = (
        Order.objects.filter(status__in=[OrderStatus.DELIVERED, OrderStatus.PICKED_UP])
        .order_by("updated_at")
        .values_list("pk", flat=True)[:batch]
    )
    return sum(_complete(pk, now) for pk in list(ids))
