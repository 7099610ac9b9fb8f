"""Thin Celery tasks over the outbox."""

from __future__ import annotations

from oms import idempotency, outbox
from oms.celery import app


@app.task(acks_late=True)
def outbox_dispatch(event_id: str) -> None:
    outbox.dispatch(event_id)


@app.task
def outbox_sweep() -> int:
    return outbox.sweep()


@app.task
def outbox_purge() -> int:
    return outbox.outbox_purge()


@app.task
def idempotency_purge() -> int:
    return idempotency.idempotency_records_purge()
