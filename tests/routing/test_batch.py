"""Allocation in batches: a worker claims ready orders (SKIP LOCKED), allocates each in its own
transaction and loads what the orders share once per batch; the chain's sweeper uses it."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from fulfillment.routing.models import RoutingDecision
from fulfillment.routing.services import orders_allocate_ready
from oms import outbox
from oms.caches import caches_reset
from orders.chain import order_chains_due
from orders.models import Order
from tests.races import run_parallel
from tests.routing.conftest import allocations

# The tables of what a batch's orders share, and how often a batch reads each whatever its size:
# the policy, the network (read by routing and by the rate-card estimator for its origins), the
# SKU flags, the carriers' services and the zone table the estimator quotes from.
SHARED = {
    "fulfillment_routingpolicyversion": 1,
    "inventory_node": 2,
    "fulfillment_skunoderule": 1,
    "fulfillment_carrierservice": 1,
    "fulfillment_shippingzonerate": 1,
}


def reads_of(ctx: CaptureQueriesContext, table: str) -> int:
    return sum(1 for q in ctx.captured_queries if q["sql"].startswith("SELECT") and f'FROM "{table}"' in q["sql"])


@pytest.mark.django_db(transaction=True)
def test_a_batch_allocates_each_ready_order_in_its_own_transaction_and_loads_the_shared_inputs_once(net, monkeypatch):
    net.stock("DC-EAST", "A", 10)
    net.stock("DC-WEST", "A", 10)
    net.policy({"name": "Nearest", "ranking": {"weights": {"distance": 1}}})
    orders = [net.order(("A", 1)) for _ in range(4)]
    waiting = net.order(("A", 1), status="validated")  # not ready: the payment rule is not met
    caches_reset()  # a fresh worker: the batch loads everything it shares itself
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: True)  # the relay is not counted here
    with CaptureQueriesContext(connection) as ctx:
        taken = orders_allocate_ready(size=10)
    assert taken == [o.pk for o in orders]
    assert [Order.objects.get(pk=o.pk).status for o in orders] == ["allocated"] * 4
    assert allocations(orders[0]) in ({"DC-EAST": {"A": 1}}, {"DC-WEST": {"A": 1}})
    assert Order.objects.get(pk=waiting.pk).status == "validated"
    # One transaction per order, and a last one that found nothing left to claim.
    assert sum(1 for q in ctx.captured_queries if q["sql"].startswith("BEGIN")) == 5  # SQLite: BEGIN IMMEDIATE
    assert {table: reads_of(ctx, table) for table in SHARED} == SHARED
    assert reads_of(ctx, "inventory_stocklevel") == 4, "stock is read live, once per order"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_another_worker_holds_is_skipped_not_waited_for(net):
    net.stock("DC-EAST", "A", 10)
    held, free = net.order(("A", 1)), net.order(("A", 1))
    locked, release = threading.Event(), threading.Event()

    def hold_it() -> None:  # another worker (the order's own chain job, say) has it
        try:
            with transaction.atomic():
                Order.objects.select_for_update().get(pk=held.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_it)
    thread.start()
    assert locked.wait(10)
    try:
        assert orders_allocate_ready(size=10) == [free.pk]
    finally:
        release.set()
        thread.join(10)
    assert Order.objects.get(pk=held.pk).status == "ready"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_the_ready_queue_allocate_every_order_once(net):
    net.stock("DC-EAST", "A", 100)
    ids = {net.order(("A", 1)).pk for _ in range(16)}
    taken = run_parallel(2, lambda i: orders_allocate_ready(size=50))
    assert all(isinstance(t, list) for t in taken), taken
    assert set(taken[0]) | set(taken[1]) == ids
    assert not set(taken[0]) & set(taken[1]), "an order claimed by both workers"
    assert set(Order.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"allocated"}
    assert RoutingDecision.objects.filter(order_id__in=ids).count() == 16


@pytest.mark.django_db(transaction=True)
def test_the_sweeper_takes_ready_orders_left_untaken_in_a_batch_and_releases_them(net, settings):
    net.stock("DC-EAST", "A", 10)
    stale, fresh = net.order(("A", 1)), net.order(("A", 1))
    Order.objects.filter(pk=stale.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert order_chains_due() >= 1
    assert Order.objects.get(pk=stale.pk).status == "released"
    assert RoutingDecision.objects.get(order=stale).trigger == "sweep"
    assert Order.objects.get(pk=fresh.pk).status == "ready", "its own chain job may still be on its way"
