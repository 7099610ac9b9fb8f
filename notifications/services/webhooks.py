"""Merchant webhooks: subscriptions, fan-out of events to deliveries, signed POSTs with retries.

The outbox consumer turns an event into one WebhookDelivery per matching subscription (no
network there). Deliveries are POSTed by a job after commit and, when they fail, again by the
beat job `webhooks_send_due` at their next-attempt time: exponential backoff for
WEBHOOK_RETRY_HOURS. While a subscription is failing, only one of its deliveries is tried at a
time (a probe, at `retry_at`): a dead endpoint gets a request per backoff step, not one per
event, and its backlog flows as soon as a probe succeeds. A subscription whose every attempt
failed for WEBHOOK_RETRY_HOURS is disabled and an exception is raised for the merchant's CSR.
HTTP runs outside any transaction, in a small thread pool, with a timeout.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from notifications import signing
from notifications.models import WebhookAttempt, WebhookDelivery, WebhookSubscription, new_secret
from notifications.subjects import event_envelope
from oms import events
from oms.actors import Actor
from oms.alerts import exception_raise, exceptions_close_for
from oms.caches import ProcessCache, cache_invalidate
from oms.errors import Conflict, FieldError, InvalidInput
from oms.models import Merchant, OpsException, OutboxEvent
from oms.outbox import enqueue_after_commit
from oms.outgoing import PostResult, backoff, post_many

logger = logging.getLogger(__name__)

WEBHOOK_DISABLED = "webhook_disabled"
USER_AGENT = "OMS-Webhooks/1.0"


# Subscriptions.


def _check(url: str | None, event_types: list[str] | None) -> None:
    errors = []
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errors.append(FieldError("url", "invalid", "Must be an http:// or https:// URL."))
    if event_types is not None:
        if not event_types:
            errors.append(FieldError("event_types", "required", 'Name at least one event type, or "*".'))
        errors += [
            FieldError(f"event_types[{i}]", "unknown_event_type", f"Unknown event type {name!r}.")
            for i, name in enumerate(event_types)
            if not events.pattern_is_known(name)
        ]
    if errors:
        raise InvalidInput(errors)


@transaction.atomic
def webhook_subscription_create(
    *, merchant: Merchant, url: str, event_types: list[str], description: str = "", secret: str = "",
    active: bool = True,
) -> WebhookSubscription:  # fmt: skip
    _check(url, event_types)
    return WebhookSubscription.objects.create(
        merchant=merchant,
        url=url,
        event_types=list(dict.fromkeys(event_types)),
        description=description,
        secret=secret or new_secret(),
        active=active,
    )


@transaction.atomic
def webhook_subscription_update(
    *, subscription: WebhookSubscription, data: dict[str, Any], actor: Actor
) -> WebhookSubscription:
    """Change URL, event types, description or active; `rotate_secret` issues a new secret."""
    sub = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    _check(data.get("url"), data.get("event_types"))
    for name in ("url", "description"):
        if name in data:
            setattr(sub, name, data[name])
    if "event_types" in data:
        sub.event_types = list(dict.fromkeys(data["event_types"]))
    if data.get("rotate_secret"):
        sub.secret = new_secret()
    if data.get("secret"):
        sub.secret = data["secret"]
    sub.save()
    if "active" in data and data["active"] != sub.active:
        if data["active"]:
            webhook_subscription_enable(subscription=sub, actor=actor)
        else:
            webhook_subscription_disable(subscription=sub, reason=f"Disabled by {actor}", actor=actor)
        sub.refresh_from_db()
    return sub


@transaction.atomic
def webhook_subscription_enable(*, subscription: WebhookSubscription, actor: Actor) -> None:
    """Turn a subscription back on with a clean slate, closing its 'disabled' exception."""
    WebhookSubscription.objects.filter(pk=subscription.pk).update(
        active=True, consecutive_failures=0, failing_since=None, retry_at=None, disabled_at=None, disabled_reason=""
    )
    subscriptions_changed()
    exceptions_close_for(subject=subscription, type=WEBHOOK_DISABLED, actor=actor, note="Webhook re-enabled")


@transaction.atomic
def webhook_subscription_disable(
    *, subscription: WebhookSubscription, reason: str, actor: Actor | None = None, alert: bool = False
) -> None:
    """Turn a subscription off; its pending deliveries fail (each can be replayed later)."""
    now = timezone.now()
    updated = WebhookSubscription.objects.filter(pk=subscription.pk, active=True).update(
        active=False, disabled_at=now, disabled_reason=reason[:300], retry_at=None
    )
    if not updated:
        return
    subscription.deliveries.filter(status__in=[WebhookDelivery.Status.PENDING, WebhookDelivery.Status.SENDING]).update(
        status=WebhookDelivery.Status.FAILED, next_attempt_at=None, last_error=f"Subscription disabled: {reason}"[:2000]
    )
    if alert:
        exception_raise(
            type=WEBHOOK_DISABLED,
            subject=subscription,
            message=f"The webhook to {subscription.url} was disabled: {reason} Ask the merchant to fix the "
            "endpoint, re-enable the subscription, then replay the deliveries it missed.",
            merchant=subscription.merchant,
            severity=OpsException.Severity.HIGH,
        )


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    subscription.delete()


# Fan-out: the outbox consumer.


def _active_patterns(merchant_id: int) -> list[list[str]]:
    active = WebhookSubscription.objects.filter(merchant_id=merchant_id, active=True)
    return list(active.values_list("event_types", flat=True))


# Per process: the event types each merchant's active subscriptions want, so an event nobody
# subscribed to costs the relay nothing. Any save or delete of a subscription (a signal) and
# re-enabling one invalidate it.
_SUBSCRIBED = ProcessCache("notifications.webhook_subscriptions", _active_patterns)


def subscriptions_changed(**_: Any) -> None:
    cache_invalidate(_SUBSCRIBED.name)


def webhooks_wanted(event: OutboxEvent) -> bool:
    """Whether any active subscription of the event's merchant matches its type (cached)."""
    if event.merchant_id is None:
        return False
    return any(events.matches(patterns, event.type) for patterns in _SUBSCRIBED.get(event.merchant_id))


def _enqueue(delivery_ids: list[str]) -> None:
    """Send the deliveries in a job after commit; with the broker down, webhooks_send_due does."""
    from notifications.tasks import webhook_send

    enqueue_after_commit(webhook_send, delivery_ids)


@transaction.atomic
def webhooks_for_event(*, event: OutboxEvent) -> list[WebhookDelivery]:
    """Create one delivery of `event` per active subscription that wants it (once each)."""
    if event.merchant_id is None:
        return []
    subscriptions = [
        s
        for s in WebhookSubscription.objects.filter(merchant_id=event.merchant_id, active=True)
        if events.matches(s.event_types, event.type)
    ]
    if not subscriptions:
        return []
    body = json.dumps(event_envelope(event), cls=DjangoJSONEncoder, separators=(",", ":"))
    now = timezone.now()
    rows = [
        WebhookDelivery(
            subscription=s,
            event_id=event.pk,
            event_type=event.type,
            body=body,
            # A failing endpoint's new deliveries wait for its next probe.
            next_attempt_at=max(now, s.retry_at) if s.retry_at else now,
            give_up_at=now + timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
        )
        for s in subscriptions
    ]
    # A redelivered event meets the unique (subscription, event) and adds nothing.
    WebhookDelivery.objects.bulk_create(rows, ignore_conflicts=True)
    ready = [str(r.pk) for r, s in zip(rows, subscriptions, strict=True) if not s.retry_at]
    if ready:
        _enqueue(ready)
    return rows


@transaction.atomic
def webhook_delivery_replay(*, delivery: WebhookDelivery, actor: Actor) -> WebhookDelivery:
    """Send a delivery's body again, as a new delivery (the log keeps both)."""
    sub = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
    if not sub.active:
        raise Conflict(f"The webhook to {sub.url} is disabled: enable it before replaying.", code="disabled")
    now = timezone.now()
    replay = WebhookDelivery.objects.create(
        subscription=sub,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        body=delivery.body,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=settings.WEBHOOK_RETRY_HOURS),
        replay_of=delivery,
    )
    logger.info("%s replays webhook delivery %s as %s", actor, delivery.pk, replay.pk)
    if not sub.retry_at:
        _enqueue([str(replay.pk)])
    return replay


# Sending.


def _headers(delivery: WebhookDelivery, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        signing.HEADER: signing.sign(delivery.subscription.secret, body),
        "OMS-Event-Id": str(delivery.event_id),
        "OMS-Event-Type": delivery.event_type,
        "OMS-Delivery-Id": str(delivery.pk),
        "OMS-Delivery-Attempt": str(delivery.attempts),
    }


def _claim(ids: list[Any], now: datetime) -> list[WebhookDelivery]:
    """Take the deliveries that are due, one by one by compare-and-set; return those taken."""
    taken = []
    for pk in ids:
        won = (
            WebhookDelivery.objects.filter(pk=pk, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .filter(subscription__active=True)
            .filter(Q(subscription__retry_at__isnull=True) | Q(subscription__retry_at__lte=now))
            .update(status=WebhookDelivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
        )
        if won:
            taken.append(pk)
    return list(WebhookDelivery.objects.filter(pk__in=taken).select_related("subscription", "subscription__merchant"))


def webhook_deliveries_send(*, delivery_ids: list[Any]) -> int:
    """POST the given deliveries that are due (concurrently); record each outcome. Return the count."""
    claimed = _claim(delivery_ids, timezone.now())
    if not claimed:
        return 0
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    calls = []
    for delivery in claimed:
        body = delivery.body.encode()
        calls.append((delivery.subscription.url, _headers(delivery, body), body))
    results = post_many(
        calls,
        timeout=timeout,
        allow_private=settings.WEBHOOK_ALLOW_PRIVATE_HOSTS,
        concurrency=settings.WEBHOOK_CONCURRENCY,
    )
    for delivery, result in zip(claimed, results, strict=True):
        _record(delivery, result)
    return len(claimed)


@transaction.atomic
def _record(delivery: WebhookDelivery, result: PostResult) -> None:
    now = timezone.now()
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=delivery.attempts,
        started_at=result.started_at,
        duration_ms=result.duration_ms,
        status_code=result.status_code,
        error=result.error,
        response_excerpt=result.excerpt,
    )
    outcome = {
        "last_status_code": result.status_code,
        "last_error": result.error,
        "last_duration_ms": result.duration_ms,
    }
    sub = WebhookSubscription.objects.select_for_update().get(pk=delivery.subscription_id)
    mine = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.SENDING)
    if result.ok:
        mine.update(status=WebhookDelivery.Status.SUCCEEDED, delivered_at=now, next_attempt_at=None, **outcome)
        if sub.consecutive_failures or sub.retry_at:
            # The probe got through: release the backlog that waited for it.
            WebhookSubscription.objects.filter(pk=sub.pk).update(
                consecutive_failures=0, failing_since=None, retry_at=None
            )
            backlog = sub.deliveries.filter(status=WebhookDelivery.Status.PENDING)
            backlog.filter(next_attempt_at__gt=now).update(next_attempt_at=now)
            ids = [str(pk) for pk in backlog.values_list("pk", flat=True)[:500]]
            if ids:
                _enqueue(ids)
        return
    next_at = now + backoff(
        delivery.attempts, base=settings.WEBHOOK_RETRY_BASE_SECONDS, cap=settings.WEBHOOK_RETRY_MAX_SECONDS
    )
    failing_since = sub.failing_since or result.started_at
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        consecutive_failures=F("consecutive_failures") + 1, failing_since=failing_since, retry_at=next_at
    )
    if now >= delivery.give_up_at:
        mine.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None, **outcome)
    else:
        mine.update(status=WebhookDelivery.Status.PENDING, next_attempt_at=min(next_at, delivery.give_up_at), **outcome)
    if sub.active and failing_since <= now - timedelta(hours=settings.WEBHOOK_RETRY_HOURS):
        reason = (
            f"every attempt failed for {settings.WEBHOOK_RETRY_HOURS} hours "
            f"({sub.consecutive_failures + 1} in a row; last: {result.error or result.status_code})."
        )
        webhook_subscription_disable(subscription=sub, reason=reason, alert=True)


def webhooks_send_due(*, batch: int = 200) -> int:
    """Send deliveries whose (re)try is due: one probe per failing subscription. Return the count."""
    now = timezone.now()
    # A worker that died mid-POST left its claim behind: try it again (receivers dedupe by event id).
    stale = now - timedelta(seconds=10 * settings.WEBHOOK_TIMEOUT_SECONDS)
    WebhookDelivery.objects.filter(status=WebhookDelivery.Status.SENDING, claimed_at__lt=stale).update(
        status=WebhookDelivery.Status.PENDING, next_attempt_at=now
    )
    due = (
        WebhookDelivery.objects.filter(
            status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now, subscription__active=True
        )
        .filter(Q(subscription__retry_at__isnull=True) | Q(subscription__retry_at__lte=now))
        .order_by("next_attempt_at")
        .values_list("pk", "subscription_id", "subscription__consecutive_failures")[:batch]
    )
    chosen, probing = [], set()
    for pk, subscription_id, failures in due:
        if failures:
            if subscription_id in probing:
                continue
            probing.add(subscription_id)
        chosen.append(pk)
    return webhook_deliveries_send(delivery_ids=chosen) if chosen else 0
