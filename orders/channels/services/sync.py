"""Orders in from a channel: the scheduled pull, and the work queued by a webhook.

Both log a SyncRun. Neither runs inside one transaction: each order commits on its own through
the capture service, and the pull's cursor moves only after every order of a page has
committed, so a crash anywhere re-reads at most that page, whose orders are then duplicates.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from oms.alerts import exception_raise, exceptions_close_for
from oms.errors import Conflict, FieldError, InvalidInput
from oms.models import OpsException
from orders.channels.connectors import connector_for
from orders.channels.connectors.base import Connector, Mapped, Page, RateLimited, decode_json
from orders.channels.connectors.feed import parse_feed
from orders.channels.models import ChannelConnection, ChannelWebhook, SyncRun
from orders.channels.services.intake import REJECTED, channel_actor, channel_order_take

logger = logging.getLogger(__name__)

SYNC_FAILED = "channel_sync_failed"
# A run that has not finished after this long died with its worker: its claim lapses.
CLAIM_LAPSES = timedelta(minutes=30)
DIED = "Its worker stopped before the run finished; the next run resumed from the cursor."
MAX_LOGGED_REJECTIONS = 200
ORDER_TOPICS = {"orders/create", "orders/updated", "order.created", "order.updated", ""}


def _claim(connection_id: int, now: datetime) -> bool:
    """Compare-and-set: one run per connection at a time, none while it is paused."""
    return bool(
        ChannelConnection.objects.filter(pk=connection_id, active=True)
        .filter(Q(run_started_at__isnull=True) | Q(run_started_at__lt=now - CLAIM_LAPSES))
        .filter(Q(paused_until__isnull=True) | Q(paused_until__lte=now))
        .update(run_started_at=now)
    )


def _take(connection: ChannelConnection, connector: Connector, raw: dict[str, Any], run: SyncRun) -> Mapped | None:
    """Map and take one platform order, counting the outcome on the run."""
    try:
        mapped = connector.map_order(raw)
    except (KeyError, ValueError, TypeError, ArithmeticError, AttributeError) as exc:
        _count(run, REJECTED, str(raw.get("id", "")), "", [{"field": None, "code": "unmappable", "message": repr(exc)}])
        return None
    outcome = channel_order_take(connection=connection, mapped=mapped)
    _count(run, outcome.result, mapped.external_id, mapped.name, outcome.errors)
    return mapped


def _count(run: SyncRun, result: str, external_id: str, name: str, errors: list[dict[str, Any]]) -> None:
    field = {"created": "created", "updated": "updated", "duplicate": "duplicates", "rejected": "rejected"}[result]
    setattr(run, field, getattr(run, field) + 1)
    if result == REJECTED and len(run.rejections) < MAX_LOGGED_REJECTIONS:
        run.rejections.append({"external_id": external_id, "name": name, "errors": errors})
    elif result == REJECTED and errors:
        logger.info("channel order %s rejected: %s", external_id, errors)


Pages = Callable[[Connector, datetime | None], Iterable[Page]]


def _pull_pages(connection: ChannelConnection, run: SyncRun, pages: Pages) -> None:
    connector = connector_for(connection)
    overlap = timedelta(seconds=settings.CHANNEL_PULL_OVERLAP_SECONDS)
    since = connection.cursor - overlap if connection.cursor else None
    for page in pages(connector, since):
        run.pages += 1
        run.fetched += len(page.items)
        newest = connection.cursor
        for raw in page.items:
            mapped = _take(connection, connector, raw, run)
            if mapped is not None and mapped.updated_at and (newest is None or mapped.updated_at > newest):
                newest = mapped.updated_at
        # Every order of the page has committed: only now may the cursor pass them.
        if newest != connection.cursor:
            ChannelConnection.objects.filter(pk=connection.pk).update(cursor=newest)
            connection.cursor = newest
        run.save()


def _finish(connection: ChannelConnection, run: SyncRun) -> None:
    run.finished_at = timezone.now()
    run.save()
    if run.status == SyncRun.Status.FAILED:
        exception_raise(
            type=SYNC_FAILED,
            subject=connection,
            message=f"Order sync from {connection} failed: {run.message}",
            merchant=connection.merchant,
            severity=OpsException.Severity.HIGH,
        )
    elif run.status == SyncRun.Status.OK and run.trigger != SyncRun.Trigger.WEBHOOK:
        exceptions_close_for(
            subject=connection, type=SYNC_FAILED, actor=channel_actor(connection), note=f"Run {run.pk} succeeded."
        )


def channel_pull(*, connection_id: int, trigger: str = SyncRun.Trigger.SCHEDULE) -> SyncRun | None:
    """Pull the orders changed since the cursor, page by page. Return the run, or None when the
    connection is inactive, paused, or already being pulled."""
    return _run(connection_id, trigger, lambda connector, since: connector.pull(since=since))


def channel_feed_upload(*, connection: ChannelConnection, content: bytes, fmt: str) -> SyncRun:
    """Take an uploaded feed file (JSON or CSV) as one run of a feed connection."""
    if connection.kind != ChannelConnection.Kind.FEED:
        raise InvalidInput([FieldError(None, "invalid", "Only a feed connection takes uploads.")])
    try:
        records = parse_feed(content, fmt)
    except (ValueError, csv.Error) as exc:
        raise InvalidInput([FieldError(None, "invalid", f"Not a {fmt.upper()} feed: {exc}")]) from None

    def pages(connector: Connector, since: datetime | None) -> list[Page]:
        return [Page(connector.group(records), has_more=False)]  # type: ignore[attr-defined]

    run = _run(connection.pk, SyncRun.Trigger.MANUAL, pages)
    if run is None:
        raise Conflict("This connection is being pulled (or is inactive); upload again shortly.")
    return run


def _run(connection_id: int, trigger: str, pages: Pages) -> SyncRun | None:
    started = timezone.now()
    if not _claim(connection_id, started):
        return None
    connection = ChannelConnection.objects.select_related("channel", "merchant").get(pk=connection_id)
    # The claim was free or had lapsed: a run still `running` died with its worker.
    SyncRun.objects.filter(connection=connection, status=SyncRun.Status.RUNNING).update(
        status=SyncRun.Status.FAILED, finished_at=started, message=DIED
    )
    run = SyncRun.objects.create(connection=connection, trigger=trigger)
    try:
        _pull_pages(connection, run, pages)
        run.status = SyncRun.Status.OK
    except RateLimited as exc:
        # The channel waits; the worker goes on with other work (the task re-queues the pull).
        run.status, run.message = SyncRun.Status.PAUSED, str(exc)
        until = timezone.now() + timedelta(seconds=exc.retry_after)
        ChannelConnection.objects.filter(pk=connection.pk).update(paused_until=until)
    except Exception as exc:  # any failure ends the run, logged and alerted, never silently
        logger.exception("channel pull of %s failed", connection)
        run.status, run.message = SyncRun.Status.FAILED, f"{type(exc).__name__}: {exc}"[:2000]
    finally:
        ChannelConnection.objects.filter(pk=connection.pk, run_started_at=started).update(run_started_at=None)
    _finish(connection, run)
    return run


def channel_webhook_process(*, webhook_id: int) -> SyncRun | None:
    """Take the order a stored webhook carries (its signature was checked on arrival)."""
    hook = ChannelWebhook.objects.select_related("connection__channel", "connection__merchant").get(pk=webhook_id)
    if hook.processed_at is not None:
        return None
    connection = hook.connection
    run = SyncRun(connection=connection, trigger=SyncRun.Trigger.WEBHOOK, status=SyncRun.Status.OK)
    try:
        body = decode_json(hook.body.encode())
    except ValueError:
        body = None
    if hook.topic in ORDER_TOPICS and isinstance(body, dict) and "id" in body:
        run.save()
        run.fetched = 1
        _take(connection, connector_for(connection), body, run)
        _finish(connection, run)
        result = f"run {run.pk}: " + ("rejected" if run.rejected else "taken")
    else:
        result = "ignored: not an order"
    ChannelWebhook.objects.filter(pk=hook.pk, processed_at__isnull=True).update(
        processed_at=timezone.now(), result=result
    )
    return run if run.pk else None


def webhooks_due(*, older_than: timedelta = timedelta(seconds=30), batch: int = 500) -> list[int]:
    """Webhooks stored but not worked (their job was lost): the beat job works them."""
    cutoff = timezone.now() - older_than
    return list(
        ChannelWebhook.objects.filter(processed_at__isnull=True, received_at__lt=cutoff)
        .order_by("received_at")
        .values_list("pk", flat=True)[:batch]
    )
