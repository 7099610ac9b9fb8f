"""Thin Celery tasks over the outbox."""

from __future__ import annotations

from oms import idempotency, outbox
from oms.celery import app


@app.task(acks_late=True)
def outbox_relay(retries: bool = True) -> int:
    """Sent (without retries) after each committed transaction that wrote events; run
    periodically by beat (with the due retries)."""
    return outbox.relay(retries=retries)


@app.task
def outbox_purge() -> int:
    return outbox.outbox_purge()


@app.task
def idempotency_purge() -> int:
    return idempotency.idempotency_records_purge()
