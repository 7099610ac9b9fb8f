"""Thin Celery tasks over channel sync (queue `channels`, see CELERY_TASK_ROUTES)."""

from __future__ import annotations

from django.utils import timezone

from oms.celery import app
from oms.outbox import enqueue_now
from orders.channels.models import ChannelConnection, SyncRun
from orders.channels.services import connections, pushes, sync

# A pause longer than this is left to the schedule rather than to a countdown in the broker.
MAX_COUNTDOWN_SECONDS = 600


@app.task(acks_late=True)
def channel_pull(connection_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> str | None:
    run = sync.channel_pull(connection_id=connection_id, trigger=trigger)
    if run is not None and run.status == SyncRun.Status.PAUSED:
        until = ChannelConnection.objects.filter(pk=connection_id).values_list("paused_until", flat=True).first()
        wait = (until - timezone.now()).total_seconds() if until else 0
        if wait <= MAX_COUNTDOWN_SECONDS:
            channel_pull.apply_async((connection_id, trigger), countdown=max(wait, 0))
    return run.status if run is not None else None


@app.task(acks_late=True)
def sku_map_sync(connection_id: int) -> int:
    connection = ChannelConnection.objects.select_related("channel").get(pk=connection_id)
    return connections.sku_map_sync(connection=connection)


@app.task(acks_late=True)
def webhook_process(webhook_id: int) -> None:
    sync.channel_webhook_process(webhook_id=webhook_id)


@app.task
def webhooks_process_due() -> int:
    due = sync.webhooks_due()
    for webhook_id in due:
        enqueue_now(webhook_process, webhook_id)
    return len(due)


@app.task(acks_late=True)
def push_send(push_id: int) -> None:
    pushes.channel_push_send(push_id=push_id)


@app.task
def pushes_send_due() -> int:
    return pushes.channel_pushes_send_due()


@app.task
def availability_full_sync() -> int:
    return pushes.availability_full_sync()
