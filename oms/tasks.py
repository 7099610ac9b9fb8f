"""Thin Celery tasks over the outbox."""

from __future__ import annotations

from celery import shared_task

from oms import outbox


@shared_task(acks_late=True)
def outbox_dispatch(event_id: str) -> None:
    outbox.dispatch(event_id)


@shared_task
def outbox_sweep() -> int:
    return outbox.sweep()
