"""Idempotency-Key handling for POSTs, as the IETF draft and Stripe do it.

The first request with a key claims it: a committed row carrying a lease (`locked_until`). Its
reply is written to that row in the transaction of the business write, so after a crash either
both exist (a retry replays the reply) or neither does (the claim lapses with its lease, and a
retry takes the key over and runs the request). A repeat with the same body replays the reply, a
repeat with another body is refused (422), and a repeat while the lease holds answers 409.

Cost on the hot path: one INSERT before the handler, one UPDATE inside its transaction.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder

from oms.errors import Conflict, DomainError
from oms.models import ApiKey, IdempotencyRecord


def request_fingerprint(data: Any) -> str:
    """Hash the parsed body so that whitespace and key order do not make two bodies differ."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _lease_end() -> Any:
    return timezone.now() + timedelta(seconds=settings.IDEMPOTENCY_LEASE_SECONDS)


def idempotency_claim(*, api_key: ApiKey, key: str, method: str, path: str, fingerprint: str) -> IdempotencyRecord:
    """Return the claimed record, or raise: Replay-able records come back through
    `IdempotencyReplay`, a key used for another request is 422, a live claim 409."""
    try:
        with transaction.atomic():
            return IdempotencyRecord.objects.create(
                api_key=api_key, key=key, method=method, path=path, request_hash=fingerprint, locked_until=_lease_end()
            )
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(api_key=api_key, key=key)
    if record.request_hash != fingerprint or record.path != path:
        raise DomainError(
            "This Idempotency-Key was already used with a different request.",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    if not record.in_progress:
        raise IdempotencyReplay(record)
    if record.locked_until is not None and record.locked_until > timezone.now():
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            field="Idempotency-Key",
            code="idempotency_key_in_use",
        )
    # The lease lapsed with no reply: the first request wrote nothing (its reply would have been
    # committed with its write). Take the claim over, unless another retry got there first.
    lease = _lease_end()
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, response_status__isnull=True, locked_until=record.locked_until
    ).update(locked_until=lease)
    if not taken:
        raise Conflict(
            "Another retry with this Idempotency-Key took it over; retry shortly.",
            field="Idempotency-Key",
            code="idempotency_key_in_use",
        )
    record.locked_until = lease
    return record


def idempotency_reply_store(*, record: IdempotencyRecord, status: int, body: Any) -> bool:
    """Store the reply on the claim, if it is still ours; call it inside the business write's
    transaction. False when a retry took the claim over (the caller must roll back)."""
    stored = IdempotencyRecord.objects.filter(
        pk=record.pk, response_status__isnull=True, locked_until=record.locked_until
    ).update(response_status=status, response_body=json.dumps(body, cls=JSONEncoder), locked_until=None)
    return stored == 1


def idempotency_release(*, record: IdempotencyRecord) -> None:
    """A failure of ours is not an answer: free the key at once for the client's retry."""
    IdempotencyRecord.objects.filter(
        pk=record.pk, response_status__isnull=True, locked_until=record.locked_until
    ).delete()


def idempotency_records_purge() -> int:
    """Delete keys and replies older than IDEMPOTENCY_RETENTION_HOURS (the IETF draft: 24 h)."""
    cutoff = timezone.now() - timedelta(hours=settings.IDEMPOTENCY_RETENTION_HOURS)
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted


class IdempotencyReplay(Exception):
    def __init__(self, record: IdempotencyRecord) -> None:
        super().__init__(record.key)
        self.record = record
