"""Operational exceptions (alerts): raised by any app through this one service."""

from __future__ import annotations

from collections.abc import Callable

from django.db import IntegrityError, models, transaction
from django.utils import timezone

from oms.actors import Actor
from oms.models import Merchant, OpsException
from oms.outbox import emit
from oms.refs import Ref


def _payload(exc: OpsException) -> dict[str, object]:
    return {
        "id": exc.pk,
        "type": exc.type,
        "severity": exc.severity,
        "status": exc.status,
        "subject": {"type": exc.subject_type, "id": exc.subject_id, "label": exc.subject_label},
        "message": exc.message,
    }


def _open(type: str, ref: Ref) -> OpsException | None:
    return OpsException.objects.filter(
        type=type,
        subject_type=ref.type,
        subject_id=ref.id,
        status__in=OpsException.OPEN_STATUSES,
    ).first()


@transaction.atomic
def exception_raise(
    *,
    type: str,
    subject: models.Model,
    message: str,
    merchant: Merchant | None,
    severity: str = OpsException.Severity.MEDIUM,
) -> OpsException:
    """Open an exception, or return the one already open for the same (type, subject)."""
    ref = Ref.to(subject)
    existing = _open(type, ref)
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            exc = OpsException.objects.create(
                merchant=merchant,
                type=type,
                severity=severity,
                subject_type=ref.type,
                subject_id=ref.id,
                subject_label=str(subject)[:200],
                message=message,
            )
    except IntegrityError:  # raised concurrently by someone else: theirs stands
        found = _open(type, ref)
        assert found is not None
        return found
    emit("exception.raised", subject=exc, merchant_id=exc.merchant_id, payload=_payload(exc))
    return exc


@transaction.atomic
def exception_close(*, exception: OpsException, actor: Actor, note: str = "", dismiss: bool = False) -> OpsException:
    """Resolve (or dismiss) an open exception, appending the note."""
    exc = OpsException.objects.select_for_update().get(pk=exception.pk)
    if exc.status not in OpsException.OPEN_STATUSES:
        return exc
    exc.status = OpsException.Status.DISMISSED if dismiss else OpsException.Status.RESOLVED
    exc.resolved_at = timezone.now()
    stamp = f"[{exc.resolved_at:%Y-%m-%d %H:%M}] {actor}: {note or exc.status}"
    exc.notes = f"{exc.notes}\n{stamp}".strip()
    exc.save()
    emit("exception.resolved", subject=exc, merchant_id=exc.merchant_id, payload=_payload(exc))
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
