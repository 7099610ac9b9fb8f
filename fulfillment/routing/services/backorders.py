"""Backorders: retried when stock arrives (`inventory.received`), by a beat job when due, or when
a CSR asks — oldest order first; lines still unfilled after a strategy's N days are cancelled."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from fulfillment.routing.models import Backorder, RoutingDecision
from fulfillment.routing.services.allocation import SYSTEM, order_allocate
from fulfillment.routing.services.backorder_alerts import backorder_alerts_clear
from oms.actors import Actor
from oms.errors import DomainError
from orders.models import Order, OrderLine, OrderStatus
from orders.services.cancel import order_cancel

logger = logging.getLogger(__name__)

BATCH = 200
# A ready order the allocation job has not picked up after this long is allocated by the sweeper.


def backorders_mark_due(*, merchant_id: int | None, product_ids: Iterable[int], now: datetime | None = None) -> int:
    """Make the backorders that wait for any of these products due now; return how many."""
    now = now or timezone.now()
    waiting = OrderLine.objects.filter(product_id__in=list(product_ids), qty_backordered__gt=0)
    if merchant_id is not None:
        waiting = waiting.filter(order__merchant_id=merchant_id)
    return Backorder.objects.filter(order_id__in=waiting.values("order_id"), next_attempt_at__gt=now).update(
        next_attempt_at=now
    )


def backorders_retry_due(
    *, now: datetime | None = None, batch: int = BATCH, trigger: str = RoutingDecision.Trigger.RETRY
) -> int:
    """Route the due backorders again, oldest order first; return how many were tried.

    Each order is its own transaction (its own lock), so a batch never holds many locks, and an
    order routed meanwhile by someone else is simply found with nothing left to place.
    """
    now = now or timezone.now()
    due = list(
        Backorder.objects.filter(next_attempt_at__lte=now)
        .order_by("order__placed_at", "order_id")
        .values_list("order_id", flat=True)[:batch]
    )
    for order_id in due:
        try:
            decision = order_allocate(order_id=order_id, trigger=trigger)
        except Exception:  # one broken order must not stop the batch; it is retried next time
            logger.exception("backorder retry of order %s failed", order_id)
            Backorder.objects.filter(order_id=order_id).update(next_attempt_at=now + timedelta(minutes=15))
            continue
        if decision is None:
            # Not routable now (held, cancelled, shipped) or nothing left: stop retrying it.
            status = Order.objects.filter(pk=order_id).values_list("status", flat=True).first()
            if status != OrderStatus.ON_HOLD:
                Backorder.objects.filter(order_id=order_id).delete()
                backorder_alerts_clear(order=Order(pk=order_id), actor=SYSTEM, note=f"The order is {status}")
            else:
                Backorder.objects.filter(order_id=order_id).update(next_attempt_at=now + timedelta(hours=1))
    return len(due)


def backorders_expire(*, now: datetime | None = None, batch: int = BATCH, actor: Actor = SYSTEM) -> int:
    """Cancel the lines still backordered past their strategy's deadline; return orders touched."""
    now = now or timezone.now()
    expired = list(
        Backorder.objects.filter(cancel_at__lte=now).order_by("cancel_at").values_list("order_id", flat=True)[:batch]
    )
    for order_id in expired:
        order = Order.objects.get(pk=order_id)
        lines = [
            {"line": line.pk, "quantity": min(line.qty_backordered, line.qty_open)}
            for line in order.lines.all()
            if line.qty_backordered and line.qty_open
        ]
        if lines:
            days = (now - Backorder.objects.get(order_id=order_id).created_at).days
            try:
                order_cancel(order=order, actor=actor, reason=f"Backordered for {days} days: not filled", lines=lines)
            except DomainError as exc:
                logger.warning("could not cancel the backordered lines of %s: %s", order.number, exc)
        Backorder.objects.filter(order_id=order_id).delete()
        backorder_alerts_clear(order=order, actor=actor, note="Backordered lines cancelled")
    return len(expired)


def stale_after() -> timedelta:
    """How long a pipeline step may stay untaken before the sweeper takes it (a lost job)."""
    return timedelta(seconds=settings.PIPELINE_STALE_SECONDS)


def orders_allocation_due(now: datetime, batch: int = BATCH) -> list[int]:
    """Ready orders whose allocation was not taken (e.g. the broker was down after commit):
    the sweeper's question for the allocation step."""
    return list(
        Order.objects.filter(status=OrderStatus.READY, updated_at__lt=now - stale_after())
        .order_by("placed_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
