"""The event outbox.

`emit` writes an event row in the caller's transaction and, once that transaction commits,
hands it to Celery. Each registered consumer handles an event under its own delivery row, so a
failing consumer is retried on its own schedule (kept in the database, not in the broker) and a
redelivered event runs each consumer once. A beat job (`outbox_sweep`) dispatches whatever the
broker never got and retries failed deliveries that are due.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from oms.events import ALL, EVENT_TYPES
from oms.models import OutboxDelivery, OutboxEvent
from oms.refs import Ref

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    event_types: frozenset[str]
    handler: Handler

    def wants(self, event_type: str) -> bool:
        return ALL in self.event_types or event_type in self.event_types


_consumers: dict[str, Consumer] = {}


def register_consumer(name: str, event_types: Iterable[str], handler: Handler) -> None:
    types = frozenset(event_types)
    _check_catalogued(types - {ALL})
    _consumers[name] = Consumer(name, types, handler)


def _check_catalogued(event_types: Iterable[str]) -> None:
    unknown = sorted(t for t in event_types if t not in EVENT_TYPES)
    if unknown:
        raise ValueError(f"event types not in the catalogue (oms/events.py): {unknown}")


def unregister_consumer(name: str) -> None:
    _consumers.pop(name, None)


def consumer(name: str, *event_types: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the consumer `name` of `event_types` ("*" for all)."""

    def decorate(handler: Handler) -> Handler:
        register_consumer(name, event_types, handler)
        return handler

    return decorate


def consumers_for(event_type: str) -> list[Consumer]:
    return [c for c in _consumers.values() if c.wants(event_type)]


def emit(
    event_type: str,
    *,
    subject: models.Model | Ref,
    merchant_id: int | None,
    payload: dict[str, Any] | None = None,
) -> OutboxEvent:
    """Write an event in the current transaction; it is dispatched after commit."""
    return emit_many([(event_type, subject, payload or {})], merchant_id=merchant_id)[0]


def emit_many(
    events: list[tuple[str, models.Model | Ref, dict[str, Any]]], *, merchant_id: int | None
) -> list[OutboxEvent]:
    """Write several events with one INSERT; each is dispatched after commit."""
    _check_catalogued(event_type for event_type, _, _ in events)
    rows = []
    for event_type, subject, payload in events:
        ref = subject if isinstance(subject, Ref) else Ref.to(subject)
        rows.append(
            OutboxEvent(
                type=event_type,
                merchant_id=merchant_id,
                subject_type=ref.type,
                subject_id=ref.id,
                payload=payload,
            )
        )
    OutboxEvent.objects.bulk_create(rows)
    for row in rows:
        transaction.on_commit(partial(publish, row.pk))
    return rows


# After a failed publish, requests stop dialling the broker for this long and leave their
# events to the sweeper: an outage must not add a connection timeout to every request.
BROKER_BACKOFF_SECONDS = 10.0
_broker_down_until = 0.0


def enqueue_after_commit(task: Any, *args: Any) -> None:
    """Send a Celery task once the current transaction commits, never failing the caller: with
    the broker down the work is left to the beat job that sweeps for it (as for events)."""
    transaction.on_commit(partial(enqueue_now, task, *args))


def enqueue_now(task: Any, *args: Any) -> bool:
    """Send a Celery task now; False (logged) when the broker cannot be reached."""
    global _broker_down_until
    if not task.app.conf.task_always_eager and time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(args, retry=False)
    except Exception as exc:  # any transport error: the work is recoverable from the database
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("broker unreachable (%r); %s%r left to its sweeper", exc, task.name, args)
        return False
    return True


def publish(event_id: Any) -> None:
    """Hand an event to the broker. If the broker is down the sweeper dispatches it later."""
    from oms.tasks import outbox_dispatch

    enqueue_now(outbox_dispatch, str(event_id))


def dispatch(event_id: Any) -> None:
    """Run every consumer of the event that has not handled it yet."""
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        return
    for c in consumers_for(event.type):
        deliver(event, c)
    OutboxEvent.objects.filter(pk=event.pk, dispatched_at__isnull=True).update(dispatched_at=timezone.now())


def _backoff(attempts: int) -> timedelta:
    base = min(5 * 2 ** (attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto


def deliver(event: OutboxEvent, c: Consumer) -> bool:
    """Run one consumer for one event under its delivery row's lock. Return True when done."""
    with transaction.atomic():
        delivery, _ = OutboxDelivery.objects.get_or_create(event=event, consumer=c.name)
        # The lock makes a concurrent redelivery wait here, then see DONE and skip.
        delivery = OutboxDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.status != OutboxDelivery.Status.PENDING:
            return delivery.status == OutboxDelivery.Status.DONE
        delivery.attempts += 1
        try:
            with transaction.atomic():
                c.handler(event)
        except Exception as exc:
            logger.exception("consumer %s failed on event %s", c.name, event.pk)
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if delivery.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
                delivery.status = OutboxDelivery.Status.FAILED
                delivery.next_attempt_at = None
            else:
                delivery.next_attempt_at = timezone.now() + _backoff(delivery.attempts)
            delivery.save()
            return False
        delivery.status = OutboxDelivery.Status.DONE
        delivery.done_at = timezone.now()
        delivery.next_attempt_at = None
        delivery.save()
        return True


def sweep(*, batch: int = 500) -> int:
    """Dispatch events the broker never delivered and retry due deliveries; return the count."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    stale = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    for event_id in stale:
        dispatch(event_id)
    due = list(
        OutboxDelivery.objects.filter(status=OutboxDelivery.Status.PENDING, next_attempt_at__lte=now).select_related(
            "event"
        )[:batch]
    )
    for delivery in due:
        registered = _consumers.get(delivery.consumer)
        if registered is not None:
            deliver(delivery.event, registered)
    return len(stale) + len(due)
