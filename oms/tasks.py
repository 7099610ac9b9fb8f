"""Thin Celery tasks over the outbox."""

from __future__ import annotations

from oms import outbox
from oms.celery import app


@app.task(acks_late=True)
def outbox_dispatch(event_id: str) -> None:
    outbox.dispatch(event_id)


@app.task
def outbox_sweep() -> int:
    return outbox.sweep()
