"""Thin Celery tasks over the inventory services."""

from __future__ import annotations

from celery import shared_task

from inventory.services.availability import availability_changes_emit
from inventory.services.sync import snapshot_process as snapshot_process_service
from inventory.services.sync import snapshots_resume as snapshots_resume_service


@shared_task(acks_late=True)
def snapshot_process(snapshot_id: int) -> None:
    snapshot_process_service(snapshot_id=snapshot_id)


@shared_task
def snapshots_resume() -> int:
    return snapshots_resume_service()


@shared_task
def availability_changes() -> int:
    return availability_changes_emit()
