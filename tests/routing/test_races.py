"""Races: stock taken between scoring and reserving is re-planned, never oversold; several
workers allocating competing orders at once (PostgreSQL, real threads) never oversell."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import pytest
from django.db.models import Sum

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from fulfillment.routing.models import Backorder
from fulfillment.routing.services import allocation, order_allocate
from inventory.models import StockLevel
from inventory.selectors import stock_audit
from inventory.services import ReserveItem, stock_receive, stock_reserve
from oms.refs import Ref
from orders.models import OrderLine
from tests.races import run_parallel
from tests.routing.conftest import ACTOR, allocations

NEAREST = {"ranking": {"weights": {"distance": 1}}}


def elsewhere(work: Any) -> Any:
    """Run `work` as another worker would: on its own connection, committed at once (the
    allocation job rolls its own transaction back on a lost race, and must not take this with it)."""
    (result,) = run_parallel(1, lambda i: work())
    if isinstance(result, Exception):
        raise result
    return result


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_stock_taken_after_planning_is_replanned_not_oversold(net, monkeypatch):
    net.stock("DC-EAST", "A", 2)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 2))
    real = allocation.plan_order
    calls = Counter()

    def plan_then_lose_the_race(*args: Any, **kwargs: Any):
        plan = real(*args, **kwargs)
        calls["plans"] += 1
        if calls["plans"] == 1:  # another order takes DC-EAST's stock right after we scored it
            items = [ReserveItem.of(net.product("A"), net.node("DC-EAST"), 2)]
            assert elsewhere(lambda: stock_reserve(items=items, reference=Ref("tests.other", "1"), actor=ACTOR).ok)
        return plan

    monkeypatch.setattr(allocation, "plan_order", plan_then_lose_the_race)
    decision = order_allocate(order_id=order.pk)
    assert calls["plans"] == 2
    assert allocations(order) == {"DC-CENTRAL": {"A": 2}}
    assert decision.races_lost == 1
    assert decision.details["races"][0]["node"] == "DC-EAST"
    assert StockLevel.objects.get(node__code="DC-EAST").allocated == 2  # the other order's, not ours
    assert FulfillmentOrder.objects.filter(order=order).count() == 1  # the lost attempt left nothing
    assert stock_audit() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_after_losing_every_race_nothing_is_placed_and_a_retry_is_due_soon(net, monkeypatch):
    net.stock("DC-EAST", "A", 0)
    order = net.order(("A", 1))
    read, plan = allocation.network_for, allocation.plan_order
    a, node = net.product("A"), net.node("DC-EAST")

    def a_unit_arrives(**kwargs: Any):
        elsewhere(lambda: stock_receive(product=a, node=node, quantity=1, actor=ACTOR))
        return read(**kwargs)

    def another_order_takes_it(*args: Any, **kwargs: Any):
        planned = plan(*args, **kwargs)
        items = [ReserveItem.of(a, node, 1)]
        assert elsewhere(lambda: stock_reserve(items=items, reference=Ref("tests.other", "1"), actor=ACTOR).ok)
        return planned

    # Every time: a unit arrives, routing plans on it, and another order takes it first.
    monkeypatch.setattr(allocation, "network_for", a_unit_arrives)
    monkeypatch.setattr(allocation, "plan_order", another_order_takes_it)
    decision = order_allocate(order_id=order.pk)
    assert decision.races_lost == allocation.MAX_REPLANS + 1
    assert decision.outcome == "backordered"
    assert decision.explanation.startswith("Nothing allocated: other orders took the planned stock 4 times in a row")
    assert FulfillmentOrder.objects.filter(order=order).count() == 0
    backorder = Backorder.objects.get(order=order)
    assert (backorder.next_attempt_at - decision.created_at).total_seconds() < 120
    assert stock_audit() == []


# --- PostgreSQL: real threads, each with its own connection ---------------------------------------


def _allocate_all(order_ids: list[int]):
    def work(i: int) -> int:
        mine = list(order_ids)
        random.Random(i).shuffle(mine)  # each worker meets the orders in its own order
        done = 0
        for order_id in mine:
            done += order_allocate(order_id=order_id) is not None
        return done

    return work


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_allocating_competing_orders_never_oversell(net):
    net.stock("DC-EAST", "A", 6)
    net.stock("DC-CENTRAL", "A", 4)
    net.stock("DC-EAST", "B", 7)
    net.stock("DC-CENTRAL", "B", 7)
    net.policy({"name": "Split", "max_shipments": 2, **NEAREST})
    orders = [net.order(("A", 1), ("B", 1)) if i % 2 else net.order(("B", 1), ("A", 1)) for i in range(20)]

    results = run_parallel(4, _allocate_all([o.pk for o in orders]))

    assert all(isinstance(r, int) for r in results), results
    a = {s.node.code: s for s in StockLevel.objects.filter(product__sku="A").select_related("node")}
    assert (a["DC-EAST"].allocated, a["DC-CENTRAL"].allocated) == (6, 4)  # every unit, never more
    b_allocated = StockLevel.objects.filter(product__sku="B").aggregate(s=Sum("allocated"))["s"]
    assert b_allocated == 14
    for stock in StockLevel.objects.all():
        assert 0 <= stock.allocated <= stock.on_hand
    lines = OrderLine.objects.filter(order__in=orders)
    # Each order line's allocation matches its fulfilment lines, and no line got more than it asked.
    for line in lines:
        held = FulfillmentOrderLine.objects.filter(order_line=line).aggregate(s=Sum("quantity"))["s"] or 0
        assert held == line.qty_allocated <= line.quantity
        assert line.qty_allocated + line.qty_backordered == line.quantity
    assert sum(line.qty_allocated for line in lines if line.sku == "A") == 10
    assert stock_audit() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_never_take_more_than_a_nodes_daily_capacity(net):
    net.node("DC-EAST", daily_capacity=3)
    net.stock("DC-EAST", "A", 100)
    net.stock("DC-WEST", "A", 100)
    net.policy({"name": "Nearest", **NEAREST})
    orders = [net.order(("A", 1)) for _ in range(12)]

    results = run_parallel(4, _allocate_all([o.pk for o in orders]))

    assert all(isinstance(r, int) for r in results), results
    by_node = Counter(FulfillmentOrder.objects.filter(order__in=orders).values_list("node__code", flat=True))
    assert by_node == {"DC-EAST": 3, "DC-WEST": 9}
    assert stock_audit() == []
