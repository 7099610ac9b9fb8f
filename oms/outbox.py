"""The event outbox and its one relay.

`emit` writes event rows in the caller's transaction; once it commits, one wake-up message
tells a relay that events wait (`oms.tasks.outbox_relay`). The relay claims undispatched events
in batches, in commit order, with FOR UPDATE SKIP LOCKED, runs each event's consumers (each
under a savepoint) and marks the batch dispatched in one statement, all in one transaction.
Only a failing consumer leaves a row: its retry, with the backoff kept in the database. The
same job runs periodically (beat), so a lost wake-up or a broker outage only delays events.
A consumer never calls the network: it writes an outgoing row that a job claims and sends
after the batch commits (webhook deliveries, node messages), so no relay waits on an endpoint.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from oms.bulk import insert_together
from oms.events import ALL, EVENT_TYPES
from oms.models import OutboxDelivery, OutboxEvent
from oms.outgoing import backoff
from oms.refs import Ref

logger = logging.getLogger(__name__)

Handler = Callable[[OutboxEvent], None]


@dataclass(frozen=True)
class Consumer:
    name: str
    event_types: frozenset[str]
    handler: Handler
    # Whether the consumer has anything to do for this event, from per-process caches (no
    # query): when it says no, the relay spends nothing on it, not even a savepoint.
    has_work: Callable[[OutboxEvent], bool] | None = None

    def wants(self, event_type: str) -> bool:
        return ALL in self.event_types or event_type in self.event_types


_consumers: dict[str, Consumer] = {}


def register_consumer(
    name: str,
    event_types: Iterable[str],
    handler: Handler,
    *,
    has_work: Callable[[OutboxEvent], bool] | None = None,
) -> None:
    types = frozenset(event_types)
    _check_catalogued(types - {ALL})
    _consumers[name] = Consumer(name, types, handler, has_work)


def _check_catalogued(event_types: Iterable[str]) -> None:
    unknown = sorted(t for t in event_types if t not in EVENT_TYPES)
    if unknown:
        raise ValueError(f"event types not in the catalogue (oms/events.py): {unknown}")


def unregister_consumer(name: str) -> None:
    _consumers.pop(name, None)


def consumer(
    name: str, *event_types: str, has_work: Callable[[OutboxEvent], bool] | None = None
) -> Callable[[Handler], Handler]:
    """Register the decorated function as the consumer `name` of `event_types` ("*" for all)."""

    def decorate(handler: Handler) -> Handler:
        register_consumer(name, event_types, handler, has_work=has_work)
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
    events: list[tuple[str, models.Model | Ref, dict[str, Any]]],
    *,
    merchant_id: int | None,
    with_rows: list[models.Model] | None = None,
) -> list[OutboxEvent]:
    """Write several events with one INSERT; each is dispatched after commit. `with_rows`: new
    rows of another table written by the same statement (the timeline rows of the transitions
    these events report)."""
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
    insert_together(with_rows or [], rows)
    if rows:
        _wake_after_commit()
    return rows


# After a failed publish, requests stop dialling the broker for this long and leave their
# events to the sweeper: an outage must not add a connection timeout to every request.
BROKER_BACKOFF_SECONDS = 10.0
_broker_down_until = 0.0


def enqueue_after_commit(task: Any, *args: Any, wakes_relay: bool = False) -> None:
    """Send a Celery task once the current transaction commits, never failing the caller: with
    the broker down the work is left to the beat job that sweeps for it (as for events).

    `wakes_relay`: the task is sent with `wake_relay=True` and wakes the relay when it ends (it
    runs under `wakes_held(owed=wake_relay)`), so this transaction's own wake-up is handed to it:
    one relay run for the events of both. The order chain is sent so after capture."""
    if not wakes_relay:
        transaction.on_commit(partial(enqueue_now, task, *args))
        return
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        open_savepoints = set(conn.savepoint_ids)
        for sids, func, _ in conn.run_on_commit:
            # Only a wake-up that a rollback dropping the job would drop too.
            if isinstance(func, _Wake) and sids >= open_savepoints:
                func.handed = True
    transaction.on_commit(_JobThatWakes(task, args))


class _IdsJob:
    """One job per task for all the ids its transaction adds (`enqueue_ids_after_commit`)."""

    ran = False

    def __init__(self, task: Any) -> None:
        self.task, self.ids = task, []

    def __call__(self) -> None:
        self.ran = True
        enqueue_now(self.task, self.ids)


def enqueue_ids_after_commit(task: Any, ids: list[str]) -> None:
    """Send `task(ids)` once the transaction commits: one job per task for every id the
    transaction adds (a relay batch sends one job for all its e-mails, not one per event).

    Ids added under a savepoint that then rolled back stay in the job: the task must skip ids
    whose rows it does not find pending, as its claim does anyway (the send jobs claim by
    compare-and-set)."""
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        for _, func, _ in conn.run_on_commit:
            if isinstance(func, _IdsJob) and func.task is task and not func.ran:
                func.ids.extend(ids)
                return
    job = _IdsJob(task)
    job.ids.extend(ids)
    transaction.on_commit(job)


def enqueue_now(task: Any, *args: Any, **kwargs: Any) -> bool:
    """Send a Celery task now; False (logged) when the broker cannot be reached."""
    global _broker_down_until
    if not task.app.conf.task_always_eager and time.monotonic() < _broker_down_until:
        return False
    try:
        task.apply_async(args, kwargs, retry=False)
    except Exception as exc:  # any transport error: the work is recoverable from the database
        _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
        logger.warning("broker unreachable (%r); %s%r left to its sweeper", exc, task.name, args)
        return False
    return True


def _wake_now() -> None:
    from oms.tasks import outbox_relay

    enqueue_now(outbox_relay, False)


class _Wake:
    """Tell a relay, after commit, that events are waiting. A lost wake-up only delays them until
    the periodic relay run (beat), never loses them: the events are in the table."""

    ran = False
    handed = False  # to a job of the same transaction that wakes the relay when it ends

    def __call__(self) -> None:
        self.ran = True
        if self.handed:
            return
        held = getattr(_held, "stack", None)
        if held:  # inside wakes_held(): one wake-up when the block ends
            held[-1][0] = True
            return
        _wake_now()


class _JobThatWakes:
    """After commit, send a job that wakes the relay when it ends, in place of the transaction's
    wake-up; if the job cannot be sent, send the wake-up (the periodic run is left if both fail)."""

    ran = False

    def __init__(self, task: Any, args: tuple[Any, ...]) -> None:
        self.task, self.args = task, args

    def __call__(self) -> None:
        self.ran = True
        if not enqueue_now(self.task, *self.args, wake_relay=True):
            _wake_now()


_held = threading.local()


@contextmanager
def wakes_held(*, owed: bool = False) -> Iterator[None]:
    """Send one wake-up when the block ends for all the transactions it committed, instead of
    one each (a job that runs several transactions in a row: the order chain). It is sent
    however the block ends; the events wait in the table meanwhile. `owed`: send it even if the
    block committed nothing (a job that was handed its sender's wake-up)."""
    stack = _held.__dict__.setdefault("stack", [])
    stack.append([owed])
    try:
        yield
    finally:
        (woken,) = stack.pop()
        if woken:
            _wake_now()


def _wake_after_commit() -> None:
    """One wake-up per transaction, however many events it writes: none is added while one
    registered in this block or an enclosing one is pending (a rolled-back savepoint drops its
    own). Events written in sibling savepoints may add one each; a spare wake-up costs a relay
    one empty claim."""
    conn = transaction.get_connection()
    if conn.in_atomic_block:
        open_savepoints = set(conn.savepoint_ids)
        for sids, func, _ in conn.run_on_commit:
            if isinstance(func, _Wake | _JobThatWakes) and not func.ran and sids <= open_savepoints:
                return
    transaction.on_commit(_Wake())


def _run(event: OutboxEvent, c: Consumer) -> Exception | None:
    """Run one consumer under its own savepoint: a failure rolls back that consumer alone."""
    try:
        with transaction.atomic():
            c.handler(event)
    except Exception as exc:
        logger.exception("consumer %s failed on event %s", c.name, event.pk)
        return exc
    return None


def _retry_row(delivery: OutboxDelivery, exc: Exception) -> OutboxDelivery:
    delivery.attempts += 1
    delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    if delivery.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        delivery.status = OutboxDelivery.Status.FAILED
        delivery.next_attempt_at = None
    else:
        delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts, base=5, cap=3600)
    return delivery


@transaction.atomic
def relay_batch(*, size: int | None = None) -> int:
    """Claim up to `size` undispatched events in commit order, run their consumers, mark them
    dispatched; return how many were claimed.

    The claim (FOR UPDATE SKIP LOCKED) lets several relays run at once, each on other events.
    The consumers' effects, the failures' retry rows and the dispatched mark commit together:
    a relay that dies mid-batch rolls all of it back and the events are claimed again, so
    nothing is lost and nothing is done twice. A consumer that succeeds leaves no row; one that
    fails leaves a retry row (`OutboxDelivery`) for `relay_retries`.
    """
    from oms.caches import caches_check

    size = size or settings.OUTBOX_BATCH_SIZE
    events = list(
        OutboxEvent.objects.select_for_update(skip_locked=True)
        .filter(dispatched_at__isnull=True)
        .order_by("created_at")[:size]
    )
    if not events:
        return 0
    caches_check(force=True)
    failures: list[OutboxDelivery] = []
    for event in events:
        for c in consumers_for(event.type):
            if c.has_work is not None and not c.has_work(event):
                continue
            exc = _run(event, c)
            if exc is not None:
                failures.append(_retry_row(OutboxDelivery(event=event, consumer=c.name), exc))
    if failures:
        OutboxDelivery.objects.bulk_create(failures)
    OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
    return len(events)


def relay_retries(*, size: int | None = None) -> int:
    """Run the retries of failed consumers that are due, each in its own transaction, claimed
    SKIP LOCKED so that it runs once however many relays look; return how many ran."""
    due = list(
        OutboxDelivery.objects.filter(status=OutboxDelivery.Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[: size or settings.OUTBOX_BATCH_SIZE]
    )
    ran = 0
    for pk in due:
        with transaction.atomic():
            delivery = (
                OutboxDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(pk=pk, status=OutboxDelivery.Status.PENDING, next_attempt_at__lte=timezone.now())
                .select_related("event")
                .first()
            )
            if delivery is None:  # another relay has it, or had it
                continue
            ran += 1
            _retry(delivery)
    return ran


def _retry(delivery: OutboxDelivery) -> None:
    registered = _consumers.get(delivery.consumer)
    if registered is None:  # a consumer that was removed: nothing will run it again
        delivery.status, delivery.next_attempt_at = OutboxDelivery.Status.FAILED, None
        delivery.last_error = "This consumer is no longer registered."
    else:
        exc = _run(delivery.event, registered)
        if exc is None:
            delivery.attempts += 1
            delivery.status = OutboxDelivery.Status.DONE
            delivery.done_at = timezone.now()
            delivery.next_attempt_at = None
        else:
            _retry_row(delivery, exc)
    delivery.save()


def relay(*, retries: bool = True, max_batches: int = 100) -> int:
    """Relay batches until none is left (or `max_batches`), then the due retries unless told
    not to; return the number of events and retries handled. The wake-up job (without
    retries) and the periodic run (with) both call it."""
    done = 0
    for _ in range(max_batches):
        claimed = relay_batch()
        done += claimed
        if claimed < settings.OUTBOX_BATCH_SIZE:
            break
    if retries:
        done += relay_retries()
    return done


def outbox_purge(*, batch: int = 5000) -> int:
    """Delete dispatched events older than OUTBOX_RETENTION_DAYS, with their deliveries; an event
    one of whose consumers still has to run is kept. In batches, to keep each transaction short."""
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_RETENTION_DAYS)
    old = OutboxEvent.objects.filter(created_at__lt=cutoff, dispatched_at__isnull=False).exclude(
        deliveries__status=OutboxDelivery.Status.PENDING
    )
    deleted = 0
    while ids := list(old.values_list("pk", flat=True)[:batch]):
        OutboxEvent.objects.filter(pk__in=ids).delete()
        deleted += len(ids)
    return deleted
