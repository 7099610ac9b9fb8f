"""The order timeline and the one way to run an order transition."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db import models

from oms.actors import Actor
from oms.outbox import emit_many
from oms.payloads import order_payload
from orders.models import Order, OrderEvent, TimelineRow

Row = TypeVar("Row", bound=TimelineRow)


def timeline_row(model: type[Row], *, actor: Actor, payload: dict[str, Any] | None = None, **fields: Any) -> Row:
    """An unsaved row of any timeline (an order's, a return's), stamped with who did it."""
    return model(actor_kind=actor.kind, actor_label=actor.label[:150], user_id=actor.user_id, payload=payload or {},
                 **fields)  # fmt: skip


def timeline_entry(
    order: Order,
    name: str,
    *,
    actor: Actor,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
    payload: dict[str, Any] | None = None,
) -> OrderEvent:
    return timeline_row(
        OrderEvent, order=order, name=name, from_status=from_status, to_status=to_status, reason=reason, actor=actor,
        payload=payload,
    )  # fmt: skip


def record(order: Order, name: str, *, actor: Actor, reason: str = "", payload: dict[str, Any] | None = None) -> None:
    """Add a timeline row that is not a transition (an amendment, a partial cancellation)."""
    timeline_entry(order, name, actor=actor, reason=reason, payload=payload).save()


@dataclass
class Pending:
    """Timeline rows and events of one step's transitions, written together when it ends: one
    statement (oms.bulk) instead of two INSERTs per transition."""

    merchant_id: int | None
    rows: list[OrderEvent] = field(default_factory=list)
    events: list[tuple[str, models.Model, dict[str, Any]]] = field(default_factory=list)

    def write(self) -> None:
        emit_many(self.events, merchant_id=self.merchant_id, with_rows=list(self.rows))
        self.rows, self.events = [], []


def run_transition(
    order: Order,
    transition: str,
    *,
    actor: Actor,
    event_type: str | None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    pending: Pending | None = None,
) -> None:
    """Run an FSM transition, save it (compare-and-set on status), record it and emit its event
    (or leave the row and the event to `pending`, which the caller writes).

    Raises django_fsm.TransitionNotAllowed when the current state forbids it.
    """
    before = order.status
    getattr(order, transition)()
    order.save()
    writes = pending or Pending(order.merchant_id)
    writes.rows.append(
        timeline_entry(
            order, transition, actor=actor, from_status=before, to_status=order.status, reason=reason, payload=payload
        )
    )
    if event_type:
        writes.events.append((event_type, order, order_payload(order, reason=reason)))
    if pending is None:
        writes.write()
