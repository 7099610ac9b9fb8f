from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from oms import outbox
from oms.models import OutboxDelivery, OutboxEvent
from oms.refs import Ref
from tests.conftest import unreachable_broker
from tests.factories import MerchantFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def consumers():
    """Two consumers of order.validated: `steady` always works, `flaky` fails on its first call."""
    calls = {"steady": [], "flaky": []}

    def steady(event):
        calls["steady"].append(event.pk)

    def flaky(event):
        calls["flaky"].append(event.pk)
        if len(calls["flaky"]) == 1:
            raise RuntimeError("endpoint down")

    outbox.register_consumer("test.steady", ["order.validated"], steady)
    outbox.register_consumer("test.flaky", ["*"], flaky)
    yield calls
    outbox.unregister_consumer("test.steady")
    outbox.unregister_consumer("test.flaky")


def emit_committed(merchant, event_type="order.validated"):
    with transaction.atomic():
        return outbox.emit(event_type, subject=Ref("orders.order", "1"), merchant_id=merchant.pk, payload={"n": 1})


def make_due(event=None):
    """Age events and retries so the sweeper treats them as due (instead of sleeping)."""
    past = timezone.now() - timedelta(hours=1)
    OutboxEvent.objects.update(created_at=past)
    OutboxDelivery.objects.filter(status="pending").update(next_attempt_at=past)


def test_it_dispatches_after_commit_and_retries_only_the_failing_consumer(consumers):
    merchant = MerchantFactory()
    event = emit_committed(merchant)
    assert consumers["steady"] == [event.pk]
    assert consumers["flaky"] == [event.pk]
    flaky = OutboxDelivery.objects.get(consumer="test.flaky")
    assert (flaky.status, flaky.attempts, "endpoint down" in flaky.last_error) == ("pending", 1, True)
    assert flaky.next_attempt_at > timezone.now()
    make_due()
    outbox.sweep()
    assert consumers["steady"] == [event.pk], "the consumer that succeeded must not run again"
    assert consumers["flaky"] == [event.pk, event.pk]
    mine = OutboxDelivery.objects.filter(consumer__startswith="test.")
    assert set(mine.values_list("consumer", "status")) == {("test.steady", "done"), ("test.flaky", "done")}


def test_a_redelivered_event_is_handled_once_per_consumer(consumers):
    event = emit_committed(MerchantFactory(), "inventory.received")
    outbox.dispatch(event.pk)
    outbox.dispatch(event.pk)
    assert consumers["steady"] == []  # not subscribed to this type
    assert len(consumers["flaky"]) == 2  # the first failed, the second succeeded, then never again
    assert OutboxDelivery.objects.get(consumer="test.flaky").status == "done"


def test_nothing_is_dispatched_for_a_rolled_back_transaction(consumers):
    merchant = MerchantFactory()

    def write_then_fail():
        with transaction.atomic():
            outbox.emit("order.validated", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert OutboxEvent.objects.count() == 0
    assert consumers["steady"] == []


def test_an_event_written_while_the_broker_is_down_is_delivered_by_the_sweeper(consumers, settings):
    """A real unreachable broker: publishing fails, the event waits in the table, the sweeper
    delivers it once the broker is back."""
    merchant = MerchantFactory()
    with unreachable_broker():
        event = emit_committed(merchant)
    assert consumers["steady"] == []
    assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is None
    make_due()
    outbox.sweep()
    assert consumers["steady"] == [event.pk]
    assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is not None


def test_a_consumer_gives_up_after_the_configured_attempts(settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2

    def always_fails(event):
        raise RuntimeError("nope")

    outbox.register_consumer("test.broken", ["order.validated"], always_fails)
    try:
        emit_committed(MerchantFactory())
        make_due()
        outbox.sweep()
    finally:
        outbox.unregister_consumer("test.broken")
    delivery = OutboxDelivery.objects.get(consumer="test.broken")
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)
