"""Updates pushed back to the channels: availability, fulfilment with tracking, cancellations and
refunds. Each is a ChannelPush row, written by an outbox consumer (no network there) and sent by
its own job; failures are retried from the database with backoff, and a push the platform
rejects (or that runs out of attempts) raises an exception for the merchant's CSR."""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from inventory.models import Product
from inventory.selectors import availability, channel_rule
from oms.alerts import exception_raise
from oms.money import fmt_money
from oms.outbox import enqueue_after_commit, enqueue_now
from oms.tracking import tracking_url
from orders.channels.connectors import connector_for
from orders.channels.connectors.base import ChannelError, Connector, RateLimited, Rejected, StockLevel, Tracking
from orders.channels.connectors.mapping import Options
from orders.channels.models import ChannelConnection, ChannelPush, ChannelSkuMap

logger = logging.getLogger(__name__)

PUSH_FAILED = "channel_push_failed"
# A claimed push is not claimed again for this long (its job may still be sending it).
LEASE = timedelta(minutes=5)
BATCH = 200


def _task() -> Any:
    from orders.channels.tasks import push_send  # tasks import this module

    return push_send


@transaction.atomic
def channel_push_queue(*, connection: ChannelConnection, kind: str, payload: dict[str, Any]) -> ChannelPush:
    """Write a push (sent after commit). Availability pushes not yet tried absorb new SKUs."""
    if kind == ChannelPush.Kind.AVAILABILITY:
        waiting = (
            ChannelPush.objects.select_for_update()
            .filter(connection=connection, kind=kind, status=ChannelPush.Status.PENDING, attempts=0)
            .first()
        )
        if waiting is not None:
            waiting.payload["skus"] = sorted(set(waiting.payload.get("skus", [])) | set(payload["skus"]))
            waiting.save(update_fields=["payload"])
            return waiting
    push = ChannelPush.objects.create(connection=connection, kind=kind, payload=payload)
    enqueue_after_commit(_task(), push.pk)
    return push


def _claim(push_id: int) -> bool:
    """Compare-and-set on a due push; an inactive connection's pushes wait until it is active again."""
    now = timezone.now()
    return bool(
        ChannelPush.objects.filter(pk=push_id, status=ChannelPush.Status.PENDING, connection__active=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(next_attempt_at=now + LEASE, attempts=F("attempts") + 1)
    )


def stock_levels(*, connection: ChannelConnection, skus: list[str]) -> list[StockLevel]:
    """Safe-to-promise per SKU per platform location, from the nodes mapped to that location.

    Without a location map, WooCommerce (which has no locations) gets the channel's whole
    safe-to-promise; Shopify needs the map to know its location ids.
    """
    locations = Options(connection).locations
    if not locations and connection.kind == ChannelConnection.Kind.WOOCOMMERCE:
        locations = {"": []}
    # Only SKUs the channel is known to list (the SKU map) are pushed.
    listed = ChannelSkuMap.objects.filter(connection=connection, sku__in=skus).values("sku")
    products = list(Product.objects.filter(merchant_id=connection.merchant_id, sku__in=listed))
    rule = channel_rule(channel=connection.channel)
    figures = availability(merchant=connection.merchant, products=products, channel=connection.channel)
    levels = []
    for row in figures:
        for location, codes in locations.items():
            held = sum(n["atp"] for n in row.nodes if not codes or n["node"] in codes)
            levels.append(StockLevel(row.sku, location, rule.safe_to_promise(held)))
    return levels


def _money(payload: dict[str, Any]) -> Decimal:
    # The currency's own places ("5.00", not the ledger's "5.000"): platforms compare strings.
    return Decimal(fmt_money(Decimal(payload["amount"]), payload.get("currency", "")))


def _send(connector: Connector, push: ChannelPush) -> None:
    payload = push.payload
    if push.kind == ChannelPush.Kind.AVAILABILITY:
        levels = stock_levels(connection=push.connection, skus=payload["skus"])
        if levels:
            connector.push_availability(levels)
    elif push.kind == ChannelPush.Kind.FULFILLMENT:
        options = Options(push.connection)
        connector.push_fulfillment(
            Tracking(
                order_external_id=payload["external_id"],
                order_name=payload.get("name", ""),
                number=payload.get("tracking_number", ""),
                company=payload.get("carrier", ""),
                url=payload.get("tracking_url")
                or tracking_url(
                    payload.get("carrier", ""), payload.get("tracking_number", ""), options.tracking_url_template
                ),
                lines=payload.get("lines", []),
                complete=payload.get("complete", True),
            )
        )
    elif push.kind == ChannelPush.Kind.CANCELLATION:
        connector.push_cancellation(external_id=payload["external_id"], reason=payload.get("reason", ""))
    elif push.kind == ChannelPush.Kind.LINE_CANCELLATION:
        connector.push_line_cancellation(
            external_id=payload["external_id"], lines=payload["lines"], reason=payload.get("reason", "")
        )
    elif push.kind == ChannelPush.Kind.CAPTURE:
        connector.push_capture(
            external_id=payload["external_id"], amount=_money(payload), currency=payload.get("currency", "")
        )
    else:
        connector.push_refund(
            external_id=payload["external_id"],
            amount=_money(payload),
            currency=payload.get("currency", ""),
            reason=payload.get("reason", ""),
        )


def _backoff(attempts: int) -> timedelta:
    base = min(30 * 2 ** (attempts - 1), 6 * 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto


def _give_up(push: ChannelPush, error: str) -> None:
    ChannelPush.objects.filter(pk=push.pk).update(
        status=ChannelPush.Status.FAILED, next_attempt_at=None, last_error=error
    )
    exception_raise(
        type=PUSH_FAILED,
        subject=push,
        message=f"{push.get_kind_display()} update to {push.connection} failed: {error}",
        merchant=push.connection.merchant,
    )


def channel_push_send(*, push_id: int) -> str | None:
    """Send one push if it is due; return its status afterwards (None when not ours to send)."""
    if not _claim(push_id):
        return None
    push = ChannelPush.objects.select_related("connection__channel", "connection__merchant").get(pk=push_id)
    try:
        _send(connector_for(push.connection), push)
    except Rejected as exc:
        _give_up(push, str(exc)[:2000])
        return ChannelPush.Status.FAILED
    except (ChannelError, ValueError, KeyError) as exc:
        error = str(exc)[:2000]
        if push.attempts >= settings.CHANNEL_PUSH_MAX_ATTEMPTS:
            _give_up(push, error)
            return ChannelPush.Status.FAILED
        wait = timedelta(seconds=exc.retry_after) if isinstance(exc, RateLimited) else _backoff(push.attempts)
        ChannelPush.objects.filter(pk=push.pk).update(next_attempt_at=timezone.now() + wait, last_error=error)
        return ChannelPush.Status.PENDING
    ChannelPush.objects.filter(pk=push.pk).update(
        status=ChannelPush.Status.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
    )
    return ChannelPush.Status.SENT


def channel_pushes_send_due(*, batch: int = BATCH) -> int:
    """Queue the pushes whose next attempt is due (or whose job never ran)."""
    now = timezone.now()
    due = list(
        ChannelPush.objects.filter(status=ChannelPush.Status.PENDING, connection__active=True)
        .filter(
            Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lt=now - timedelta(seconds=30))
        )
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    for push_id in due:
        enqueue_now(_task(), push_id)
    return len(due)


def availability_full_sync() -> int:
    """The periodic full sync: every mapped SKU's availability to every connection that takes it."""
    count = 0
    for connection in ChannelConnection.objects.filter(active=True).exclude(kind=ChannelConnection.Kind.FEED):
        skus = sorted(ChannelSkuMap.objects.filter(connection=connection).values_list("sku", flat=True))
        if skus:
            channel_push_queue(connection=connection, kind=ChannelPush.Kind.AVAILABILITY, payload={"skus": skus})
            count += 1
    return count
