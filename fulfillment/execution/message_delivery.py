"""Sending the messages to integrated nodes (`NodeMessage` rows) and retrying them.

A job claims due rows with FOR UPDATE SKIP LOCKED and marks them `sending` in one short
transaction, so two jobs never take the same message; the POSTs run after that commit, in a
small thread pool with a timeout, and each outcome is recorded by compare-and-set. A failure
waits for its next attempt (doubling backoff, kept in the row) and the beat job
`node_messages_send_due` sends it then, whatever happened to the broker; after
NODE_MESSAGE_MAX_ATTEMPTS it fails and raises an exception on the fulfilment order. Endpoints
on private addresses are refused unless NODE_ALLOW_PRIVATE_HOSTS (as webhooks are).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import timedelta
from itertools import zip_longest
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from fulfillment.execution.models import NodeMessage, NodeProfile
from fulfillment.signing import HEADER, sign
from oms.alerts import exception_raise
from oms.outbox import enqueue_after_commit
from oms.outgoing import PostResult, backoff, post_many

logger = logging.getLogger(__name__)

NODE_MESSAGE_FAILED = "node_message_failed"
BATCH = 50
CONCURRENCY = 8


def _claim(message_ids: Iterable[str] | None) -> list[NodeMessage]:
    now = timezone.now()
    with transaction.atomic():
        due = NodeMessage.objects.select_for_update(skip_locked=True).filter(
            status=NodeMessage.Status.PENDING, next_attempt_at__lte=now
        )
        if message_ids is not None:
            due = due.filter(pk__in=list(message_ids))
        taken = list(due.order_by("next_attempt_at").values_list("pk", flat=True)[:BATCH])
        NodeMessage.objects.filter(pk__in=taken).update(
            status=NodeMessage.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(NodeMessage.objects.filter(pk__in=taken).select_related("node").order_by("created_at"))


def node_messages_send(*, message_ids: Iterable[str] | None = None) -> int:
    """POST the given messages that are due (all due ones without ids); return how many were sent
    or tried. Never call it inside a transaction: the POSTs would hold its locks."""
    claimed = _claim(message_ids)
    if not claimed:
        return 0
    profiles = {p.node_id: p for p in NodeProfile.objects.filter(node_id__in={m.node_id for m in claimed})}
    results: dict[Any, PostResult] = {}
    by_node: dict[int, list[NodeMessage]] = defaultdict(list)
    for message in claimed:
        profile = profiles.get(message.node_id)
        if profile is None or not profile.integrated:
            results[message.pk] = PostResult(timezone.now(), 0, None, "The node is no longer integrated.", "")
        else:
            by_node[message.node_id].append(message)
    # Nodes in parallel, each node's messages one after another in the order they were written
    # (a release before the hold that follows it).
    for round_ in zip_longest(*by_node.values()):
        sending = [m for m in round_ if m is not None]
        calls = []
        for message in sending:
            profile, body = profiles[message.node_id], message.body.encode()
            headers = {"Content-Type": "application/json", HEADER: sign(profile.secret, body)}
            calls.append((profile.endpoint_url, headers, body))
        answers = post_many(
            calls,
            timeout=settings.NODE_MESSAGE_TIMEOUT_SECONDS,
            allow_private=settings.NODE_ALLOW_PRIVATE_HOSTS,
            concurrency=CONCURRENCY,
        )
        results.update((m.pk, r) for m, r in zip(sending, answers, strict=True))
    for message in claimed:
        _record(message, results[message.pk])
    return len(claimed)


@transaction.atomic
def _record(message: NodeMessage, result: PostResult) -> None:
    now = timezone.now()
    mine = NodeMessage.objects.filter(pk=message.pk, status=NodeMessage.Status.SENDING)
    outcome = {"last_status_code": result.status_code, "last_error": result.error[:2000]}
    if result.ok:
        mine.update(status=NodeMessage.Status.SENT, sent_at=now, next_attempt_at=None, **outcome)
        return
    logger.warning("message %s to node %s failed: %s", message.pk, message.node, result.error or result.status_code)
    if message.attempts < settings.NODE_MESSAGE_MAX_ATTEMPTS:
        wait = backoff(message.attempts, base=settings.NODE_MESSAGE_RETRY_BASE_SECONDS, cap=3600)
        mine.update(status=NodeMessage.Status.PENDING, next_attempt_at=now + wait, **outcome)
        return
    if mine.update(status=NodeMessage.Status.FAILED, next_attempt_at=None, **outcome):
        fo = message.fulfillment_order
        exception_raise(
            type=NODE_MESSAGE_FAILED,
            subject=fo,
            message=f"The '{message.type}' message to {message.node.code} was not delivered after "
            f"{message.attempts} attempts (last: {result.error or result.status_code}). Check the node's "
            "endpoint, then retry the message from the admin.",
            merchant=fo.order.merchant,
        )


def node_messages_send_due() -> int:
    """Send the messages whose (re)try is due (beat); return how many were tried."""
    # A job that died mid-POST left its claim behind: send it again (nodes dedupe by event id).
    stale = timezone.now() - timedelta(seconds=10 * settings.NODE_MESSAGE_TIMEOUT_SECONDS)
    NodeMessage.objects.filter(status=NodeMessage.Status.SENDING, claimed_at__lt=stale).update(
        status=NodeMessage.Status.PENDING, next_attempt_at=timezone.now()
    )
    sent = total = node_messages_send()
    while sent == BATCH:
        sent = node_messages_send()
        total += sent
    return total


@transaction.atomic
def node_message_retry(*, message: NodeMessage) -> bool:
    """Send a failed message again now (the admin's action); False when it had not failed."""
    # One more attempt: failing again, it fails at once (the exception raised before stays open).
    retried = NodeMessage.objects.filter(pk=message.pk, status=NodeMessage.Status.FAILED).update(
        status=NodeMessage.Status.PENDING, next_attempt_at=timezone.now()
    )
    if retried:
        from fulfillment.tasks import node_messages_send as send_task

        enqueue_after_commit(send_task, [str(message.pk)])
    return bool(retried)
