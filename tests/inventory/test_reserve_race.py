"""Race proofs on PostgreSQL: real threads, each with its own connection."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from inventory.models import Movement, StockLevel
from inventory.selectors import stock_audit
from inventory.services import ReserveItem, stock_reserve, stock_unreserve
from inventory.services import stock as stock_module
from oms.actors import Actor
from oms.refs import Ref
from tests.factories import NodeFactory, ProductFactory, StockLevelFactory
from tests.races import race_callers, run_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ACTOR = Actor.system("race")


def test_it_reserves_exactly_the_ten_units_of_two_nodes_among_up_to_64_callers():
    product = ProductFactory()
    a = StockLevelFactory(product=product, node=NodeFactory(code="RACE-A"), on_hand=6)
    b = StockLevelFactory(product=product, node=NodeFactory(code="RACE-B"), on_hand=4)

    def caller(i: int) -> str:
        ref = Ref("orders.orderline", str(i))
        for node_id in (a.node_id, b.node_id):  # each tries node A, then node B
            result = stock_reserve(items=[ReserveItem(product.pk, node_id, 1)], reference=ref, actor=ACTOR)
            if result.ok:
                return "reserved"
        return "refused"

    callers = race_callers(64)  # as many as the server has free, never fewer than 16
    outcomes = Counter(run_parallel(callers, caller))
    assert outcomes == {"reserved": 10, "refused": callers - 10}
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.allocated, b.allocated) == (6, 4)
    assert Movement.objects.filter(kind="allocation").count() == 10
    assert stock_audit() == []


def test_it_never_deadlocks_on_opposite_order_multi_line_reservations():
    node = NodeFactory()
    x = StockLevelFactory(product=ProductFactory(), node=node, on_hand=10_000)
    y = StockLevelFactory(product=ProductFactory(merchant=x.product.merchant), node=node, on_hand=10_000)
    before = stock_module.deadlock_retries
    rounds = 25

    def caller(i: int) -> int:
        lines = [ReserveItem(x.product_id, node.pk, 1), ReserveItem(y.product_id, node.pk, 1)]
        if i % 2:
            lines.reverse()  # half the callers name the SKUs in the opposite order
        done = 0
        for r in range(rounds):
            ref = Ref("orders.orderline", f"{i}-{r}")
            assert stock_reserve(items=lines, reference=ref, actor=ACTOR).ok
            if r % 3 == 0:
                stock_unreserve(reference=ref, actor=ACTOR)
            else:
                done += 1
        return done

    results = run_parallel(race_callers(32), caller)
    assert all(isinstance(r, int) for r in results), [r for r in results if not isinstance(r, int)]
    expected = sum(results)
    x.refresh_from_db()
    y.refresh_from_db()
    assert x.allocated == y.allocated == expected
    # Rows are always locked in stock-id order, so no deadlock ever needed a retry.
    assert stock_module.deadlock_retries == before
    assert stock_audit() == []


def test_it_retries_a_deadlock_transparently():
    """Locks taken outside the one order do deadlock; the retry wrapper hides it from the caller."""
    node = NodeFactory()
    x = StockLevelFactory(product=ProductFactory(), node=node, on_hand=5)
    y = StockLevelFactory(product=ProductFactory(merchant=x.product.merchant), node=node, on_hand=5)
    both_locked_first = threading.Barrier(2)
    attempts = Counter()

    @stock_module.retry_on_deadlock
    def lock_in_given_order(first: int, second: int, name: str) -> None:
        from django.db import transaction

        attempts[name] += 1
        with transaction.atomic():
            StockLevel.objects.select_for_update().get(pk=first)
            if attempts[name] == 1:
                both_locked_first.wait(timeout=10)
            StockLevel.objects.select_for_update().get(pk=second)

    before = stock_module.deadlock_retries
    results = run_parallel(2, lambda i: lock_in_given_order(*((x.pk, y.pk) if i == 0 else (y.pk, x.pk)), name=str(i)))
    assert results == [None, None]  # both callers succeeded: neither saw the deadlock
    retried = stock_module.deadlock_retries - before
    assert retried >= 1  # PostgreSQL did detect one (a victim's retry can occasionally collide again)
    assert sum(attempts.values()) == 2 + retried
    for conn in connections.all():
        conn.close()


def test_it_alerts_once_when_concurrent_reservations_cross_a_threshold():
    from oms.models import OpsException, OutboxEvent

    stock = StockLevelFactory(product=ProductFactory(), node=NodeFactory(), on_hand=40)
    StockLevel.objects.filter(pk=stock.pk).update(reorder_threshold=30)

    def caller(i: int) -> bool:
        items = [ReserveItem(stock.product_id, stock.node_id, 1)]
        return stock_reserve(items=items, reference=Ref("orders.orderline", str(i)), actor=ACTOR).ok

    assert all(run_parallel(race_callers(32), caller))
    assert OpsException.objects.filter(type="low_stock").count() == 1
    assert OutboxEvent.objects.filter(type="inventory.low_stock").count() == 1


def test_it_never_oversells_while_counts_race_reservations():
    """Reservations keep coming while counts take stock away: the invariant and the ledger hold."""
    from inventory.services import stock_counts_apply

    stock = StockLevelFactory(product=ProductFactory(), node=NodeFactory(), on_hand=100)
    product, node = stock.product, stock.node

    def caller(i: int) -> int:
        if i < 4:  # four counters, each counting lower
            for n in range(5):
                stock_counts_apply(node=node, counts=[(product, 60 - 10 * n - i)], actor=ACTOR)
            return 0
        ok = 0
        for r in range(5):
            items = [ReserveItem(product.pk, node.pk, 1)]
            ok += stock_reserve(items=items, reference=Ref("orders.orderline", f"{i}-{r}"), actor=ACTOR).ok
        return ok

    results = run_parallel(race_callers(24), caller)
    assert all(isinstance(r, int) for r in results), results
    stock.refresh_from_db()
    assert 0 <= stock.allocated <= stock.on_hand
    assert stock_audit() == []
