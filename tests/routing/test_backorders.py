"""Backorders: filled when stock arrives (oldest order first), retried when due or when a CSR
asks, and given up after a strategy's N days."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.routing.models import Backorder, RoutingDecision
from fulfillment.routing.services import (
    backorders_expire,
    backorders_retry_due,
    order_allocate,
    order_route_again,
)
from inventory.services import stock_receive
from orders.models import Order
from tests.routing.conftest import ACTOR, allocations, lines_of, path_of

pytestmark = pytest.mark.django_db


def test_a_receipt_fills_backorders_oldest_first(net, django_capture_on_commit_callbacks):
    net.stock("DC-EAST", "A", 0)
    now = timezone.now()
    newer = net.order(("A", 2), placed_at=now - timedelta(hours=1))
    older = net.order(("A", 2), placed_at=now - timedelta(days=2))
    order_allocate(order_id=newer.pk)
    order_allocate(order_id=older.pk)
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(product=net.product("A"), node=net.node("DC-EAST"), quantity=2, actor=ACTOR)
    older.refresh_from_db()
    newer.refresh_from_db()
    # Allocated, then released at once by fulfilment (no remorse period).
    assert (older.status, newer.status) == ("released", "backordered")
    assert ("allocate", "backordered", "allocated") in path_of(older)
    assert allocations(older) == {"DC-EAST": {"A": 2}}
    assert not Backorder.objects.filter(order=older).exists()
    assert Backorder.objects.filter(order=newer).exists()
    assert RoutingDecision.objects.filter(order=older, trigger="receipt").count() == 1


def test_a_partial_backorder_is_topped_up_when_stock_arrives(net, django_capture_on_commit_callbacks):
    net.stock("DC-EAST", "A", 1)
    order = net.order(("A", 3))
    order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, lines_of(order)) == ("partially_allocated", {"A": (1, 2)})
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(product=net.product("A"), node=net.node("DC-EAST"), quantity=5, actor=ACTOR)
    order.refresh_from_db()
    assert (order.status, lines_of(order)) == ("released", {"A": (3, 0)})
    assert ("allocate", "partially_allocated", "allocated") in path_of(order)
    assert allocations(order) == {"DC-EAST": {"A": 3}}
    assert order.fulfillment_orders.count() == 2  # the first part was left where it was


def test_the_missing_line_of_a_partly_allocated_order_is_filled_when_it_arrives(
    net, django_capture_on_commit_callbacks
):
    net.stock("STORE-12", "A", 5)  # the nearest node has A only
    net.stock("DC-EAST", "B", 0)
    net.policy({"name": "Nearest", "max_shipments": 2, "ranking": {"weights": {"distance": 1}}})
    order = net.order(("A", 1), ("B", 1))
    order_allocate(order_id=order.pk)
    assert lines_of(order) == {"A": (1, 0), "B": (0, 1)}
    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(product=net.product("B"), node=net.node("DC-EAST"), quantity=3, actor=ACTOR)
    assert lines_of(order) == {"A": (1, 0), "B": (1, 0)}
    assert allocations(order) == {"STORE-12": {"A": 1}, "DC-EAST": {"B": 1}}
    retry = RoutingDecision.objects.filter(order=order).latest("id")
    assert [line["sku"] for line in retry.details["lines"]] == ["B"]  # only what was missing


def test_due_backorders_are_retried_by_the_beat_job(net):
    level = net.stock("DC-EAST", "A", 0)
    order = net.order(("A", 1))
    order_allocate(order_id=order.pk)
    # Stock appears without an event (e.g. set by hand); the periodic retry finds it.
    from tests.factories import MovementFactory

    MovementFactory(stock=level, kind="receipt", on_hand_delta=1)
    level.on_hand = 1
    level.save()
    assert backorders_retry_due(now=timezone.now()) == 0  # not due yet
    assert backorders_retry_due(now=timezone.now() + timedelta(hours=1)) == 1
    order.refresh_from_db()
    assert order.status == "allocated"


def test_a_csr_can_ask_routing_to_try_again(net):
    level = net.stock("DC-EAST", "A", 0)
    order = net.order(("A", 1))
    order_allocate(order_id=order.pk)
    from tests.factories import MovementFactory

    MovementFactory(stock=level, kind="receipt", on_hand_delta=1)
    level.on_hand = 1
    level.save()
    decision = order_route_again(order_id=order.pk, actor=ACTOR)
    assert decision.trigger == "csr"
    assert allocations(order) == {"DC-EAST": {"A": 1}}


def test_unfilled_lines_are_cancelled_after_the_strategys_days(net):
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-EAST", "B", 0)
    net.policy({"name": "Give up", "failure_action": "cancel_after_days", "failure_days": 3})
    order = net.order(("A", 1), ("B", 2))
    decision = order_allocate(order_id=order.pk)
    assert "cancelled if unfilled after 3 days" in decision.explanation
    backorder = Backorder.objects.get(order=order)
    assert timedelta(days=2, hours=23) < backorder.cancel_at - timezone.now() <= timedelta(days=3)
    assert backorders_expire(now=timezone.now() + timedelta(days=2)) == 0
    assert backorders_expire(now=timezone.now() + timedelta(days=4)) == 1
    order.refresh_from_db()
    line = order.lines.get(sku="B")
    assert (line.qty_cancelled, line.qty_backordered) == (2, 0)
    assert order.status == "partially_allocated" or order.status == "allocated"
    assert not Backorder.objects.filter(order=order).exists()


def test_the_sweeper_allocates_ready_orders_whose_job_never_ran(net):
    from orders.chain import order_chains_due

    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 1))
    order_chains_due(now=timezone.now())
    assert Order.objects.get(pk=order.pk).status == "ready", "too recent: its job may still be on its way"
    assert order_chains_due(now=timezone.now() + timedelta(minutes=5)) == 1
    # Allocated by the sweeper, then released by the same chain.
    assert Order.objects.get(pk=order.pk).status == "released"
    assert RoutingDecision.objects.get(order=order).trigger == "sweep"
