"""Backorders that a person should look at: units routing could not place (raised at once), and
orders waiting longer than OMS_BACKORDER_AGE_HOURS (a beat job). Both close when the units are
allocated, cancelled, or the order stops waiting."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import CharField, Exists, OuterRef
from django.db.models.functions import Cast
from django.utils import timezone

from fulfillment.routing.models import Backorder
from oms.actors import Actor
from oms.alerts import exception_raise, exceptions_close_for
from oms.models import OpsException
from orders.models import Order, OrderLine

BACKORDER_AGE = "backorder_age"
UNFULFILLABLE = "unfulfillable_units"
BATCH = 500


def _units(lines: Iterable[OrderLine]) -> str:
    return ", ".join(
        f"{line.qty_backordered} of {line.quantity} × {line.sku}" for line in lines if line.qty_backordered
    )


def backorder_alert_unfilled(*, order: Order, lines: list[OrderLine], explanation: str) -> None:
    """Routing left units unplaced: say which, and why, while the order waits for stock."""
    exception_raise(
        type=UNFULFILLABLE,
        subject=order,
        message=f"Not allocated: {_units(lines)}. Routing said: {explanation}",
        merchant=order.merchant,
    )


def backorder_alerts_clear(*, order: Order, actor: Actor, note: str) -> None:
    """Nothing of the order waits for stock any more: close both backorder alerts."""
    for type in (UNFULFILLABLE, BACKORDER_AGE):
        exceptions_close_for(subject=order, type=type, actor=actor, note=note)


def backorders_age_detect(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Raise one exception per order backordered longer than the threshold; return how many."""
    now = now or timezone.now()
    alerted = OpsException.objects.filter(
        type=BACKORDER_AGE,
        subject_type="orders.order",
        subject_id=Cast(OuterRef("order_id"), CharField()),
        status__in=OpsException.OPEN_STATUSES,
    )
    old = (
        Backorder.objects.filter(created_at__lte=now - timedelta(hours=settings.OMS_BACKORDER_AGE_HOURS))
        .filter(~Exists(alerted))
        .select_related("order__merchant")
        .order_by("created_at")[:batch]
    )
    raised = 0
    for backorder in old:
        order = backorder.order
        lines = list(order.lines.filter(qty_backordered__gt=0))
        if not lines:
            continue
        hours = (now - backorder.created_at).total_seconds() / 3600
        exception_raise(
            type=BACKORDER_AGE,
            subject=order,
            message=f"Waiting {hours:.0f} h for stock (threshold {settings.OMS_BACKORDER_AGE_HOURS} h): "
            f"{_units(lines)}. {backorder.attempts} routing attempt(s) so far.",
            merchant=order.merchant,
        )
        raised += 1
    return raised
