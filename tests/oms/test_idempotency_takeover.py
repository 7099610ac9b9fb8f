"""A claim on an Idempotency-Key whose request died unanswered is taken over by a later retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from oms.errors import Conflict
from oms.idempotency import idempotency_claim
from oms.models import IdempotencyRecord

pytestmark = pytest.mark.django_db


def claim(api):
    return idempotency_claim(api_key=api.key, key="K-1", method="POST", path="/api/v1/orders/", fingerprint="f")


def test_a_retry_waits_while_the_first_request_may_still_run_then_takes_the_claim_over(api, settings):
    _record, claimed = claim(api)
    assert claimed
    with pytest.raises(Conflict):
        claim(api)  # the first request may still be running
    # The first request's process died: its claim stays unanswered past any request's lifetime.
    old = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_ABANDONED_SECONDS + 1)
    IdempotencyRecord.objects.filter(key="K-1").update(created_at=old)
    _record, claimed = claim(api)
    assert claimed
    with pytest.raises(Conflict):
        claim(api)  # taken over once: the next retry waits for the new attempt


def test_an_answered_claim_is_replayed_however_old(api, settings):
    record, _ = claim(api)
    old = timezone.now() - timedelta(days=1)
    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=old, response_status=201, response_body={"n": 1})
    record, claimed = claim(api)
    assert not claimed
    assert record.response_body == {"n": 1}
