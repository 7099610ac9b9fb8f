"""Beat jobs that keep the bookkeeping tables bounded: Idempotency-Key records after 24 hours,
dispatched outbox events after OUTBOX_RETENTION_DAYS."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from oms import tasks
from oms.models import IdempotencyRecord, OutboxDelivery, OutboxEvent
from tests import payloads
from tests.factories import OutboxEventFactory

pytestmark = pytest.mark.django_db


def age(queryset, **delta):
    queryset.update(created_at=timezone.now() - timedelta(**delta))


def test_keys_and_replies_older_than_24_hours_are_purged_and_the_key_works_again(api):
    for key in ("old", "new"):
        api.client.post("/api/v1/orders/", payloads.order(external_id=key), format="json", HTTP_IDEMPOTENCY_KEY=key)
    age(IdempotencyRecord.objects.filter(key="old"), hours=25)
    age(IdempotencyRecord.objects.filter(key="new"), hours=23)

    assert tasks.idempotency_purge() == 1

    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]
    reused = api.client.post(
        "/api/v1/orders/", payloads.order(external_id="x"), format="json", HTTP_IDEMPOTENCY_KEY="old"
    )
    assert reused.status_code == 201


def test_dispatched_events_past_the_retention_are_purged_with_their_deliveries(settings):
    settings.OUTBOX_RETENTION_DAYS = 7
    now = timezone.now()
    old_done = OutboxEventFactory(dispatched_at=now)
    OutboxDelivery.objects.create(event=old_done, consumer="emails", status="done")
    old_failed = OutboxEventFactory(dispatched_at=now)
    OutboxDelivery.objects.create(event=old_failed, consumer="webhooks", status="failed")
    old_pending = OutboxEventFactory(dispatched_at=now)
    OutboxDelivery.objects.create(event=old_pending, consumer="webhooks", status="pending")
    old_undispatched = OutboxEventFactory(dispatched_at=None)
    recent = OutboxEventFactory(dispatched_at=now)
    age(OutboxEvent.objects.exclude(pk=recent.pk), days=8)

    assert tasks.outbox_purge() == 2

    kept = set(OutboxEvent.objects.values_list("pk", flat=True))
    assert kept == {old_pending.pk, old_undispatched.pk, recent.pk}
    assert not OutboxDelivery.objects.filter(event_id__in=[old_done.pk, old_failed.pk]).exists()


def test_both_purges_are_on_the_beat_schedule():
    tasks_scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"oms.tasks.idempotency_purge", "oms.tasks.outbox_purge"} <= tasks_scheduled
