from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection, transaction
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from oms import outbox
from oms.models import CacheVersion, OutboxDelivery, OutboxEvent
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


def make_due():
    """Make the retries due (instead of sleeping)."""
    OutboxDelivery.objects.filter(status="pending").update(next_attempt_at=timezone.now() - timedelta(hours=1))


def test_it_relays_after_commit_and_retries_only_the_failing_consumer(consumers):
    merchant = MerchantFactory()
    event = emit_committed(merchant)
    assert consumers["steady"] == [event.pk]
    assert consumers["flaky"] == [event.pk]
    assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is not None
    flaky = OutboxDelivery.objects.get(consumer="test.flaky")
    assert (flaky.status, flaky.attempts, "endpoint down" in flaky.last_error) == ("pending", 1, True)
    assert flaky.next_attempt_at > timezone.now()
    assert not OutboxDelivery.objects.filter(consumer="test.steady").exists(), "success leaves no row"
    outbox.relay()
    assert consumers["flaky"] == [event.pk], "not due yet: the backoff is kept in the database"
    make_due()
    outbox.relay()
    assert consumers["steady"] == [event.pk], "the consumer that succeeded must not run again"
    assert consumers["flaky"] == [event.pk, event.pk]
    flaky.refresh_from_db()
    assert (flaky.status, flaky.attempts) == ("done", 2)


def test_one_transaction_writing_many_events_sends_one_wake_up(consumers, monkeypatch):
    sent = []
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: sent.append(task.name))
    merchant = MerchantFactory()
    with transaction.atomic():
        for _ in range(3):
            outbox.emit("order.validated", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
        outbox.emit_many([("order.ready", Ref("orders.order", "1"), {})], merchant_id=merchant.pk)
    assert sent == ["oms.tasks.outbox_relay"]


def test_nothing_is_relayed_for_a_rolled_back_transaction(consumers):
    merchant = MerchantFactory()

    def write_then_fail():
        with transaction.atomic():
            outbox.emit("order.validated", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
            raise RuntimeError("rollback")

    with pytest.raises(RuntimeError):
        write_then_fail()
    outbox.relay()
    assert OutboxEvent.objects.count() == 0
    assert consumers["steady"] == []


def test_an_event_written_while_the_broker_is_down_is_delivered_by_the_periodic_relay(consumers):
    """A real unreachable broker: the wake-up fails, the event waits in the table, the periodic
    run delivers it."""
    merchant = MerchantFactory()
    with unreachable_broker():
        event = emit_committed(merchant)
    assert consumers["steady"] == []
    assert OutboxEvent.objects.get(pk=event.pk).dispatched_at is None
    from oms.tasks import outbox_relay

    outbox_relay.apply()
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
        outbox.relay()
    finally:
        outbox.unregister_consumer("test.broken")
    delivery = OutboxDelivery.objects.get(consumer="test.broken")
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)


# --- the relay on PostgreSQL, with real parallel connections --------------------------------------


@pytest.fixture
def effects():
    """Two consumers that record each delivery as a row in the relay's transaction; returns a
    reader of (event, consumer) -> times delivered."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS test_relay_effect (event_id uuid, consumer text)")
        cursor.execute("TRUNCATE test_relay_effect")
    hooks = {"before": lambda event: None}

    def record(name):
        def handler(event):
            hooks["before"](event)
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO test_relay_effect VALUES (%s, %s)", [event.pk, name])

        return handler

    outbox.register_consumer("test.a", ["order.validated"], record("test.a"))
    outbox.register_consumer("test.b", ["order.validated"], record("test.b"))

    def counts():
        with connection.cursor() as cursor:
            cursor.execute("SELECT event_id, consumer, count(*) FROM test_relay_effect GROUP BY 1, 2")
            return {(event_id, name): n for event_id, name, n in cursor.fetchall()}

    counts.hooks = hooks
    yield counts
    outbox.unregister_consumer("test.a")
    outbox.unregister_consumer("test.b")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE test_relay_effect")


def committed_events(n):
    """Events as an app's transaction leaves them (its wake-up lost): undispatched rows."""
    merchant = MerchantFactory()
    rows = [
        OutboxEvent(type="order.validated", merchant=merchant, subject_type="orders.order", subject_id=str(i))
        for i in range(n)
    ]
    OutboxEvent.objects.bulk_create(rows)
    return {row.pk for row in rows}


def in_thread(target):
    """Run `target` on its own thread and database connection; return (thread, outcome)."""
    outcome = {}

    def run():
        try:
            outcome["result"] = target()
        except Exception as exc:
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


@pytest.mark.postgres
def test_a_relay_killed_mid_batch_loses_nothing_and_delivers_nothing_twice(effects):
    ids = committed_events(10)
    halfway, resume = threading.Event(), threading.Event()
    backend = {}

    def pause_at_the_fifth(event):
        if len(backend.setdefault("seen", [])) == 4 and "pid" not in backend:
            backend["pid"] = connection.connection.info.backend_pid
            halfway.set()
            resume.wait(10)
        backend["seen"].append(event.pk)

    effects.hooks["before"] = pause_at_the_fifth
    thread, outcome = in_thread(lambda: outbox.relay_batch(size=10))
    assert halfway.wait(10), "the relay never reached the fifth event"
    with connection.cursor() as cursor:  # the relay's process dies: its backend goes with it
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend["pid"]])
    resume.set()
    thread.join(10)
    assert isinstance(outcome.get("error"), OperationalError)
    assert effects() == {}, "the dead relay's effects rolled back with its transaction"
    assert OutboxEvent.objects.filter(pk__in=ids, dispatched_at__isnull=True).count() == 10
    effects.hooks["before"] = lambda event: None
    assert outbox.relay() == 10
    assert effects() == {(pk, name): 1 for pk in ids for name in ("test.a", "test.b")}
    assert not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


@pytest.mark.postgres
def test_two_relays_at_once_deliver_every_event_once_per_consumer(effects):
    ids = committed_events(60)
    effects.hooks["before"] = lambda event: time.sleep(0.002)  # keep both relays busy together
    start = threading.Barrier(2)

    def drain():
        start.wait(10)
        claimed = 0
        while n := outbox.relay_batch(size=5):
            claimed += n
        return claimed

    runs = [in_thread(drain) for _ in range(2)]
    for thread, _ in runs:
        thread.join(30)
    claimed = [outcome.get("result", outcome.get("error")) for _, outcome in runs]
    assert sum(claimed) == 60, claimed
    assert all(n > 0 for n in claimed), f"both relays must have worked: {claimed}"
    assert effects() == {(pk, name): 1 for pk in ids for name in ("test.a", "test.b")}


# --- consumers with nothing to do cost nothing; the caches behind that ---------------------------


def test_a_batch_nobody_subscribed_to_costs_five_statements_and_no_rows():
    """Webhooks listen for everything, but this merchant has no subscription: the relay claims
    the batch, checks the cache versions and marks it dispatched (BEGIN and COMMIT are the other
    two). No savepoint, no row, whatever the batch size."""
    merchant = MerchantFactory()

    def exceptions_resolved(n):
        OutboxEvent.objects.bulk_create(
            OutboxEvent(type="exception.resolved", merchant=merchant, subject_type="oms.opsexception", subject_id=i)
            for i in range(n)
        )

    exceptions_resolved(1)
    outbox.relay()  # loads the merchant's (empty) subscriptions into this process's cache
    exceptions_resolved(20)
    with CaptureQueriesContext(connection) as ctx:
        assert outbox.relay_batch(size=50) == 20
    assert len(ctx) == 5, [q["sql"] for q in ctx.captured_queries]
    assert not OutboxDelivery.objects.exists()


def test_a_subscription_made_in_another_process_reaches_this_process_at_its_next_batch():
    from notifications.models import WebhookDelivery, WebhookSubscription
    from notifications.services.webhooks import _SUBSCRIBED

    merchant = MerchantFactory()
    OutboxEvent.objects.create(type="order.cancelled", merchant=merchant, subject_type="orders.order", subject_id=1)
    outbox.relay()  # this process now caches "no subscription" for the merchant
    # Another process subscribes: its rows and its version bump are all this process sees.
    WebhookSubscription.objects.bulk_create(
        [WebhookSubscription(merchant=merchant, url="http://127.0.0.1:9/h", event_types=["order.*"], secret="s")]
    )
    OutboxEvent.objects.create(type="order.cancelled", merchant=merchant, subject_type="orders.order", subject_id=2)
    outbox.relay()
    assert not WebhookDelivery.objects.exists(), "without a version bump the cached answer stands"
    CacheVersion.objects.get_or_create(name=_SUBSCRIBED.name)
    CacheVersion.objects.filter(name=_SUBSCRIBED.name).update(version=F("version") + 1)
    OutboxEvent.objects.create(type="order.cancelled", merchant=merchant, subject_type="orders.order", subject_id=3)
    with unreachable_broker():  # the delivery's send job is not what this test is about
        outbox.relay()
    assert list(WebhookDelivery.objects.values_list("event_type", flat=True)) == ["order.cancelled"]


def test_saving_or_deleting_a_subscription_bumps_the_cache_version():
    from notifications.services.webhooks import _SUBSCRIBED
    from tests.factories import WebhookSubscriptionFactory

    def version():
        return CacheVersion.objects.filter(name=_SUBSCRIBED.name).values_list("version", flat=True).first() or 0

    before = version()
    sub = WebhookSubscriptionFactory()
    assert version() == before + 1
    sub.delete()
    assert version() == before + 2


def test_an_e_mail_the_merchant_switched_off_costs_no_row_and_no_query():
    """order.validated sends the order confirmation; this merchant switched it off and has no
    webhook subscription: neither consumer runs, so the batch costs the relay's own five."""
    from notifications.models import EmailLog
    from tests.factories import NotificationSettingsFactory, OrderFactory

    merchant = MerchantFactory()
    NotificationSettingsFactory(merchant=merchant, disabled_messages=["order_confirmation"])
    order = OrderFactory(merchant=merchant, email="ana@example.com")

    def validated(n):
        OutboxEvent.objects.bulk_create(
            OutboxEvent(type="order.validated", merchant=merchant, subject_type="orders.order", subject_id=order.pk)
            for _ in range(n)
        )

    validated(1)
    outbox.relay()  # loads the merchant's settings and (empty) subscriptions into the caches
    validated(20)
    with CaptureQueriesContext(connection) as ctx:
        assert outbox.relay_batch(size=50) == 20
    assert len(ctx) == 5, [q["sql"] for q in ctx.captured_queries]
    assert not EmailLog.objects.exists()
    assert not OutboxDelivery.objects.exists()


def test_an_event_delivered_again_has_each_consumers_effect_once():
    """The relay delivers at least once (a batch that committed its effects may be claimed again
    if, say, its dispatched mark was lost): e-mails and webhooks key their rows on the event id."""
    from notifications.models import EmailLog, WebhookDelivery
    from notifications.services.emails import emails_for_event
    from notifications.services.webhooks import webhooks_for_event
    from tests.factories import OrderFactory, OrderLineFactory, WebhookSubscriptionFactory

    merchant = MerchantFactory()
    WebhookSubscriptionFactory(merchant=merchant, event_types=["order.*"])
    order = OrderFactory(merchant=merchant, email="ana@example.com")
    OrderLineFactory(order=order)
    with unreachable_broker():  # the send jobs are not what this test is about
        with transaction.atomic():
            event = outbox.emit("order.validated", subject=order, merchant_id=merchant.pk, payload={})
        outbox.relay()
        OutboxEvent.objects.filter(pk=event.pk).update(dispatched_at=None)  # claimed again
        outbox.relay()
        event.refresh_from_db()
        emails_for_event(event=event)  # and even the consumers themselves, once more
        webhooks_for_event(event=event)
    assert EmailLog.objects.filter(event_id=event.pk).count() == 1
    assert WebhookDelivery.objects.filter(event_id=event.pk).count() == 1
    assert not OutboxDelivery.objects.exists()


def test_transactions_committed_while_wake_ups_are_held_send_one_when_the_block_ends(monkeypatch):
    """The order chain runs its steps' transactions in a row: one wake-up at the end for all of
    their events, sent however the block ends."""
    sent = []
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: sent.append(task.name))
    merchant = MerchantFactory()
    with outbox.wakes_held():
        for _ in range(3):
            emit_committed(merchant)
        assert sent == [], "held until the block ends"
    assert sent == ["oms.tasks.outbox_relay"]

    def a_step_crashes():
        with outbox.wakes_held():
            emit_committed(merchant)
            raise RuntimeError("a step crashed")

    with pytest.raises(RuntimeError):
        a_step_crashes()
    assert sent == ["oms.tasks.outbox_relay"] * 2, "a crash still sends it: the events are committed"
    with outbox.wakes_held():
        pass
    assert len(sent) == 2, "nothing committed, nothing sent"


class _Job:
    """A stand-in Celery task: only its name is read by the recording `enqueue_now`."""

    name = "test.job"


def record_sends(monkeypatch, *, job_sent: bool = True) -> list[tuple[str, tuple, dict]]:
    sent = []

    def enqueue_now(task, *args, **kwargs):
        sent.append((task.name, args, kwargs))
        return job_sent or task is not _Job

    monkeypatch.setattr(outbox, "enqueue_now", enqueue_now)
    return sent


def test_a_job_that_wakes_the_relay_takes_over_its_transactions_wake_up(monkeypatch):
    """Capture sends the order chain this way: one relay run after the chain for the capture's
    events and the chain's, instead of one for each."""
    sent = record_sends(monkeypatch)
    merchant = MerchantFactory()
    with transaction.atomic():
        outbox.emit("order.validated", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
        outbox.enqueue_after_commit(_Job, wakes_relay=True)
        outbox.emit("order.ready", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
    assert sent == [("test.job", (), {"wake_relay": True})], "the job wakes the relay, not the commit"
    with outbox.wakes_held(owed=True):  # the job, when it runs, however little it commits
        pass
    assert sent[1:] == [("oms.tasks.outbox_relay", (False,), {})]


def test_a_job_that_cannot_be_sent_sends_the_wake_up_it_was_handed(monkeypatch):
    sent = record_sends(monkeypatch, job_sent=False)
    merchant = MerchantFactory()
    with transaction.atomic():
        outbox.emit("order.validated", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
        outbox.enqueue_after_commit(_Job, wakes_relay=True)
    assert [name for name, _, _ in sent] == ["test.job", "oms.tasks.outbox_relay"]


def test_a_job_rolled_back_with_its_savepoint_hands_nothing_over(monkeypatch):
    """The job's savepoint rolls back, the events before it commit: their wake-up is still sent."""
    sent = record_sends(monkeypatch)
    merchant = MerchantFactory()
    with transaction.atomic():
        outbox.emit("order.validated", subject=Ref("orders.order", "1"), merchant_id=merchant.pk)
        try:
            with transaction.atomic():
                outbox.enqueue_after_commit(_Job, wakes_relay=True)
                raise RuntimeError("the step failed")
        except RuntimeError:
            pass
    assert [name for name, _, _ in sent] == ["oms.tasks.outbox_relay"]


def test_ids_added_across_a_transaction_go_in_one_job_per_task(monkeypatch):
    """A relay batch: each event's consumer adds its rows under its own savepoint; one send job
    carries them all after commit (a rolled-back consumer's ids too: the job's claim skips them)."""
    sent = record_sends(monkeypatch)
    with transaction.atomic():
        for ids in (["a"], ["b", "c"]):
            with transaction.atomic():
                outbox.enqueue_ids_after_commit(_Job, ids)
        try:
            with transaction.atomic():
                outbox.enqueue_ids_after_commit(_Job, ["d"])
                raise RuntimeError("a consumer failed")
        except RuntimeError:
            pass
    assert sent == [("test.job", (["a", "b", "c", "d"],), {})]
    with transaction.atomic():
        outbox.enqueue_ids_after_commit(_Job, ["e"])
    assert sent[1:] == [("test.job", (["e"],), {})], "the next transaction sends its own job"
