"""Idempotency-Key handling for POSTs, as the IETF draft and Stripe do it.

The first request with a key claims it (a committed row); repeats with the same body replay
its stored response, a repeat with another body is refused (422), and a repeat while the first
is still running answers 409.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from oms.errors import Conflict, DomainError
from oms.models import ApiKey, IdempotencyRecord


def request_fingerprint(data: Any) -> str:
    """Hash the parsed body so that whitespace and key order do not make two bodies differ."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_claim(
    *, api_key: ApiKey, key: str, method: str, path: str, fingerprint: str
) -> tuple[IdempotencyRecord, bool]:
    """Return (record, claimed). When not claimed, the record holds the response to replay."""
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                api_key=api_key, key=key, method=method, path=path, request_hash=fingerprint
            )
            return record, True
    except IntegrityError:
        pass
    record = IdempotencyRecord.objects.get(api_key=api_key, key=key)
    if record.request_hash != fingerprint or record.path != path:
        raise DomainError(
            "This Idempotency-Key was already used with a different request.",
            field="Idempotency-Key",
            code="idempotency_key_reused",
        )
    if record.in_progress and not _abandoned_claim_taken(record):
        raise Conflict(
            "A request with this Idempotency-Key is still being processed; retry shortly.",
            field="Idempotency-Key",
            code="idempotency_key_in_use",
        )
    return record, record.in_progress


def _abandoned_claim_taken(record: IdempotencyRecord) -> bool:
    """Take over a claim older than any request may run: its process died before answering.

    A compare-and-set on created_at, so that of several retries only one takes it.
    """
    stale_before = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_ABANDONED_SECONDS)
    if record.created_at >= stale_before:
        return False
    now = timezone.now()
    taken = IdempotencyRecord.objects.filter(
        pk=record.pk, created_at=record.created_at, response_status__isnull=True
    ).update(created_at=now)
    record.created_at = now
    return taken == 1


def idempotency_finish(*, record: IdempotencyRecord, status: int, body: Any) -> None:
    if status >= 500:
        # A failure of ours is not an answer: let the client retry with the same key.
        IdempotencyRecord.objects.filter(pk=record.pk).delete()
        return
    IdempotencyRecord.objects.filter(pk=record.pk).update(response_status=status, response_body=body)
