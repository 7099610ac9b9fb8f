"""Holds: stop one order until a person (or a job) resolves them."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.alerts import exception_raise, exceptions_close_for
from oms.errors import Conflict, DomainError
from oms.models import OpsException
from orders.models import Hold, Order, OrderStatus
from orders.services.timeline import record, run_transition

# Holds that only fixing their cause resolves: an amendment that passes the address check (or an
# override a CSR lead approves), a payment that goes through (retry, new token) or a cancellation.
MUST_FIX = {
    Hold.Type.ADDRESS: "Fix the address by amending the order, or ask a CSR lead to approve an override.",
    Hold.Type.PAYMENT: "Retry the payment, record a new token, or cancel the order.",
}


def hold_exception_type(hold_type: str) -> str:
    return f"{hold_type}_hold"


def order_lock(order: Order) -> Order:
    """Re-read the order under a row lock: every service that changes an order starts here."""
    return Order.objects.select_for_update(of=("self",)).select_related("channel").get(pk=order.pk)


@transaction.atomic
def hold_place(*, order: Order, type: str, reason: str, actor: Actor, details: dict[str, Any] | None = None) -> Hold:
    """Put a hold on the order; the first open hold moves it to on_hold."""
    order = order_lock(order)
    hold = Hold.objects.create(order=order, type=type, reason=reason, details=details or {}, created_by=actor.label)
    if order.status == OrderStatus.ON_HOLD:
        record(order, "hold_added", actor=actor, reason=reason, payload={"hold": hold.pk, "type": type})
    else:
        run_transition(
            order,
            "place_hold",
            actor=actor,
            event_type="order.on_hold",
            reason=reason,
            payload={"hold": hold.pk, "type": type},
        )
    exception_raise(
        type=hold_exception_type(type),
        subject=order,
        message=f"{hold.get_type_display()} hold: {reason}",
        merchant=order.merchant,
    )
    return hold


@transaction.atomic
def hold_resolve(*, hold: Hold, actor: Actor, note: str = "") -> Order:
    """Resolve a hold; resolving the last one resumes the order where it stopped."""
    order = order_lock(hold.order)
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    if not hold.is_open:
        raise Conflict(f"This hold was already resolved by {hold.resolved_by}.", field="hold")
    hold.resolved_at = timezone.now()
    hold.resolved_by = actor.label
    hold.resolution_note = note
    hold.save()
    open_holds = list(order.holds.filter(resolved_at__isnull=True).values_list("type", flat=True))
    if hold.type not in open_holds:
        exceptions_close_for(subject=order, type=hold_exception_type(hold.type), actor=actor, note=note)
    if open_holds:
        record(order, "hold_resolved", actor=actor, reason=note, payload={"hold": hold.pk, "type": hold.type})
    elif order.status == OrderStatus.ON_HOLD:
        run_transition(
            order,
            "resume",
            actor=actor,
            event_type="order.hold_resolved",
            reason=note,
            payload={"hold": hold.pk, "type": hold.type},
        )
    return order


def holds_resolve_of_type(*, order: Order, type: str, actor: Actor, note: str) -> None:
    """Resolve every open hold of `type` (its cause has been fixed, e.g. by an amendment)."""
    for hold in order.holds.filter(type=type, resolved_at__isnull=True):
        hold_resolve(hold=hold, actor=actor, note=note)


def holds_close_all(*, order: Order, actor: Actor, note: str) -> None:
    """Close every open hold without resuming the order (it is being cancelled)."""
    now = timezone.now()
    types = set(order.holds.filter(resolved_at__isnull=True).values_list("type", flat=True))
    order.holds.filter(resolved_at__isnull=True).update(resolved_at=now, resolved_by=actor.label, resolution_note=note)
    for type in types:
        exceptions_close_for(subject=order, type=hold_exception_type(type), actor=actor, note=note)


@transaction.atomic
def hold_release(*, hold: Hold, actor: Actor, note: str) -> Order:
    """A person resolves a hold with a note: only holds that need no fix (fraud review, manual...)."""
    if hold.type in MUST_FIX:
        raise DomainError(f"A {hold.type} hold is not resolved by a note. {MUST_FIX[hold.type]}", code="must_fix")
    if not note.strip():
        raise DomainError("Say what was done about it.", field="note", code="required")
    return hold_resolve(hold=hold, actor=actor, note=note)


@transaction.atomic
def hold_override_request(*, hold: Hold, actor: Actor, reason: str) -> Hold:
    """Ask to release an address hold without fixing it; a CSR lead approves (hold_override_approve)."""
    order = order_lock(hold.order)
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    if not hold.is_open or hold.type != Hold.Type.ADDRESS:
        raise Conflict("Only an open address hold can be overridden.", field="hold", code="invalid_state")
    if not reason.strip():
        raise DomainError("Write why the address should stand as it is.", field="reason", code="required")
    hold.details = {**hold.details, "override": {"reason": reason, "requested_by": actor.label,
                                                 "requested_at": timezone.now().isoformat()}}  # fmt: skip
    hold.save(update_fields=["details"])
    record(order, "hold_override_requested", actor=actor, reason=reason, payload={"hold": hold.pk, "type": hold.type})
    return hold


@transaction.atomic
def hold_override_approve(*, hold: Hold, actor: Actor) -> Order:
    """A CSR lead approves the requested override: the hold is resolved with its written reason."""
    hold = Hold.objects.select_for_update().get(pk=hold.pk)
    override = hold.details.get("override")
    if not hold.is_open or not override:
        raise Conflict("No override waits for approval on this hold.", field="hold", code="invalid_state")
    note = f"Override requested by {override['requested_by']}, approved by {actor.label}: {override['reason']}"
    return hold_resolve(hold=hold, actor=actor, note=note)


def hold_exception_resolve(exception: OpsException, actor: Actor, note: str) -> None:
    """The exception queue resolves a hold's exception: resolve the hold it stands for (or refuse)."""
    hold_type = exception.type.removesuffix("_hold")
    holds = Hold.objects.filter(order_id=exception.subject_id, type=hold_type, resolved_at__isnull=True)
    for hold in holds.select_related("order"):
        hold_release(hold=hold, actor=actor, note=note or "resolved with its exception")
