"""A return's timeline and the one way to run a return transition (as orders do for orders)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from oms.actors import Actor
from oms.outbox import emit
from oms.payloads import return_payload
from orders.services.timeline import record, timeline_row
from returns.models import Return, ReturnEvent


def return_record(
    rma: Return, name: str, *, actor: Actor, reason: str = "", payload: dict[str, Any] | None = None
) -> None:
    """Add a timeline row that is not a transition (a scan, a grade, a refund)."""
    timeline_row(ReturnEvent, rma=rma, name=name, reason=reason, actor=actor, payload=payload).save()


def return_transition(
    rma: Return,
    transition: str,
    *,
    actor: Actor,
    event_type: str | None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    event_extra: dict[str, Any] | None = None,
) -> None:
    """Run an FSM transition, save it (compare-and-set on status), record it on the return's and
    the order's timelines and emit its event. Raises TransitionNotAllowed when the state forbids it."""
    before = rma.status
    getattr(rma, transition)()
    rma.status_changed_at = timezone.now()
    rma.save()
    timeline_row(
        ReturnEvent,
        rma=rma,
        name=transition,
        from_status=before,
        to_status=rma.status,
        reason=reason,
        actor=actor,
        payload=payload,
    ).save()
    record(rma.order, f"return_{rma.status}", actor=actor, reason=reason, payload={"return": rma.number})
    if event_type:
        body = return_payload(rma, reason=reason, **(event_extra or {}))
        emit(event_type, subject=rma, merchant_id=rma.merchant_id, payload=body)
