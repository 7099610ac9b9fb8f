"""Operational exceptions (alerts): raised by any app through this one service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from oms.actors import Actor
from oms.exception_policy import due_times, policy_for, severity_for
from oms.models import Merchant, OpsException
from oms.outbox import emit
from oms.payloads import exception_payload
from oms.refs import Ref


def _open(type: str, ref: Ref) -> OpsException | None:
    return OpsException.objects.filter(
        type=type,
        subject_type=ref.type,
        subject_id=ref.id,
        status__in=OpsException.OPEN_STATUSES,
    ).first()


def _order_of(subject: models.Model) -> Any:
    """The order an exception is about: the subject itself, or the order it belongs to (a
    shipment, a fulfilment order). Duck-typed, since oms sits below the orders app."""
    if hasattr(subject, "number") and hasattr(subject, "total"):
        return subject
    order = getattr(subject, "order", None)
    return order if hasattr(order, "number") and hasattr(order, "total") else None


@transaction.atomic
def exception_raise(
    *,
    type: str,
    subject: models.Model,
    message: str,
    merchant: Merchant | None,
    severity: str | None = None,
) -> OpsException:
    """Open an exception, or return the one already open for the same (type, subject).

    Its severity and SLA come from the type's policy, the severity raised for a high-value order;
    `severity` is a floor the raiser may set.
    """
    ref = Ref.to(subject)
    existing = _open(type, ref)
    if existing is not None:
        return existing
    policy = policy_for(type)
    order = _order_of(subject)
    value = order.total if order is not None else None
    first_touch_due, resolve_due = due_times(policy, timezone.now())
    try:
        with transaction.atomic():
            exc = OpsException.objects.create(
                merchant=merchant,
                type=type,
                severity=severity_for(policy, value, severity),
                subject_type=ref.type,
                subject_id=ref.id,
                subject_label=str(subject)[:200],
                message=message,
                order_pk=order.pk if order is not None else None,
                order_number=order.number if order is not None else "",
                value=value,
                currency=order.currency if order is not None else "",
                first_touch_due_at=first_touch_due,
                resolve_due_at=resolve_due,
            )
    except IntegrityError:  # raised concurrently by someone else: theirs stands
        found = _open(type, ref)
        assert found is not None
        return found
    emit("exception.raised", subject=exc, merchant_id=exc.merchant_id, payload=exception_payload(exc))
    return exc


@transaction.atomic
def exception_close(*, exception: OpsException, actor: Actor, note: str = "", dismiss: bool = False) -> OpsException:
    """Resolve (or dismiss) an open exception, appending the note."""
    exc = OpsException.objects.select_for_update().get(pk=exception.pk)
    if exc.status not in OpsException.OPEN_STATUSES:
        return exc
    exc.status = OpsException.Status.DISMISSED if dismiss else OpsException.Status.RESOLVED
    exc.resolved_at = timezone.now()
    exc.first_touched_at = exc.first_touched_at or exc.resolved_at
    stamp = f"[{exc.resolved_at:%Y-%m-%d %H:%M}] {actor}: {note or exc.status}"
    exc.notes = f"{exc.notes}\n{stamp}".strip()
    exc.save()
    emit("exception.resolved", subject=exc, merchant_id=exc.merchant_id, payload=exception_payload(exc))
    return exc


# A higher app whose object an exception stands for registers here (its AppConfig.ready()), so
# that a person resolving the exception resolves that object too: an order's hold and its
# exception are one piece of work. The resolver may refuse (raise a DomainError).
ExceptionResolver = Callable[[OpsException, Actor, str], None]
_resolvers: dict[str, ExceptionResolver] = {}


def register_exception_resolver(type: str, resolver: ExceptionResolver) -> None:
    _resolvers[type] = resolver


@transaction.atomic
def exception_resolve(*, exception: OpsException, actor: Actor, note: str = "", dismiss: bool = False) -> OpsException:
    """A person resolves (or dismisses) an exception in the queue: what it stands for first."""
    resolver = _resolvers.get(exception.type)
    if resolver is not None and exception.status in OpsException.OPEN_STATUSES:
        resolver(exception, actor, note)
    return exception_close(exception=exception, actor=actor, note=note, dismiss=dismiss)


def exceptions_close_for(*, subject: models.Model, type: str, actor: Actor, note: str = "") -> None:
    """Resolve the open exception of `type` about `subject`, if any (its cause went away)."""
    found = _open(type, Ref.to(subject))
    if found is not None:
        exception_close(exception=found, actor=actor, note=note)


@transaction.atomic
def exceptions_assign(*, ids: list[int], assignee: Any, actor: Actor) -> int:
    """Assign open exceptions to a person (and mark them in progress); return how many changed.
    Assigning is the first touch of the SLA."""
    now = timezone.now()
    changed = 0
    for exc in OpsException.objects.select_for_update().filter(pk__in=ids, status__in=OpsException.OPEN_STATUSES):
        if exc.assignee_id == assignee.pk and exc.status == OpsException.Status.IN_PROGRESS:
            continue
        exc.assignee, exc.status = assignee, OpsException.Status.IN_PROGRESS
        exc.first_touched_at = exc.first_touched_at or now
        exc.notes = f"{exc.notes}\n[{now:%Y-%m-%d %H:%M}] {actor}: assigned to {assignee.get_username()}".strip()
        exc.save(update_fields=["assignee", "status", "first_touched_at", "notes", "updated_at"])
        changed += 1
    return changed


def exceptions_close(*, ids: list[int], actor: Actor, note: str = "", dismiss: bool = False) -> int:
    """Resolve (or dismiss) the open ones among these exceptions; return how many closed."""
    closed = 0
    for exc in OpsException.objects.filter(pk__in=ids, status__in=OpsException.OPEN_STATUSES).order_by("pk"):
        if (
            exception_close(exception=exc, actor=actor, note=note, dismiss=dismiss).status
            not in OpsException.OPEN_STATUSES
        ):
            closed += 1
    return closed
