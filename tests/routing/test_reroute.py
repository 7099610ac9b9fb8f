"""Re-routing: a node's rejection, a stock shortfall, and what cancellation releases."""

from __future__ import annotations

import pytest

from fulfillment.routing.models import RoutingDecision, RoutingExclusion
from fulfillment.routing.services import fulfillment_order_reject, order_allocate
from inventory.models import StockLevel
from inventory.selectors import stock_audit
from inventory.services import stock_adjust
from orders.models import Hold
from orders.services.cancel import order_cancel
from tests.routing.conftest import ACTOR, allocations, lines_of, path_of, released

pytestmark = pytest.mark.django_db

NEAREST = {"ranking": {"weights": {"distance": 1}}}


def allocated_at(code: str, sku: str = "A") -> int:
    return StockLevel.objects.get(node__code=code, product__sku=sku).allocated


def test_a_rejection_reroutes_to_another_node(net):
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    order = released(order)
    fo = order.fulfillment_orders.get()

    decision = fulfillment_order_reject(fulfillment_order=fo, reason="Flooded aisle", actor=ACTOR)

    order.refresh_from_db()
    fo.refresh_from_db()
    assert fo.status == "rejected"
    assert allocations(order) == {"DC-CENTRAL": {"A": 2}}
    assert (allocated_at("DC-EAST"), allocated_at("DC-CENTRAL")) == (0, 2)
    assert order.status == "allocated"  # released -> allocated: the new part waits for release
    assert lines_of(order) == {"A": (2, 0)}
    assert RoutingExclusion.objects.filter(order=order, node__code="DC-EAST").exists()
    assert decision.trigger == "rejection"
    assert (
        decision.explanation == "Shipped whole from DC-CENTRAL: the only node with it; DC-EAST excluded for this order."
    )
    assert stock_audit() == []


def test_a_rejection_with_nowhere_else_to_go_backorders(net):
    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    fo = released(order).fulfillment_orders.get()
    fulfillment_order_reject(fulfillment_order=fo, reason="Cannot", actor=ACTOR)
    order.refresh_from_db()
    assert order.status == "backordered"
    assert lines_of(order) == {"A": (0, 2)}
    assert allocated_at("DC-EAST") == 0


def test_a_rejection_through_the_node_api_reroutes_through_the_outbox(net, django_capture_on_commit_callbacks):
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 1), ("B", 1))
    net.stock("DC-EAST", "B", 5)
    order_allocate(order_id=order.pk)
    fo = released(order).fulfillment_orders.get()
    from fulfillment.execution.node import fulfillment_order_reject as node_reject

    with django_capture_on_commit_callbacks(execute=True):
        node_reject(fulfillment_order=fo, reason="No staff today", actor=ACTOR)
    order.refresh_from_db()
    assert allocations(order) == {"DC-CENTRAL": {"A": 1}}
    # released -> partially_allocated (B has nowhere else), then the new part is released at once.
    assert ("allocate_partially", "released", "partially_allocated") in path_of(order)
    assert order.status == "released"
    assert lines_of(order) == {"A": (1, 0), "B": (0, 1)}
    assert RoutingDecision.objects.filter(order=order, trigger="rejection").count() == 1


def test_a_shortfall_reroutes_the_lost_units(net, django_capture_on_commit_callbacks):
    net.stock("DC-EAST", "A", 3)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):  # a count finds only one unit left
        stock_adjust(product=net.product("A"), node=net.node("DC-EAST"), quantity=-2, actor=ACTOR, reason="count")
    order.refresh_from_db()
    assert allocations(order) == {"DC-EAST": {"A": 1}, "DC-CENTRAL": {"A": 1}}
    assert lines_of(order) == {"A": (2, 0)}
    assert order.status == "released"  # the re-routed unit went straight to its node
    assert (allocated_at("DC-EAST"), allocated_at("DC-CENTRAL")) == (1, 1)
    assert RoutingDecision.objects.filter(order=order, trigger="shortfall").count() == 1
    assert stock_audit() == []


def test_a_shortfall_nothing_else_can_serve_holds_the_order(net, django_capture_on_commit_callbacks):
    net.stock("DC-EAST", "A", 2)
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    with django_capture_on_commit_callbacks(execute=True):
        stock_adjust(product=net.product("A"), node=net.node("DC-EAST"), quantity=-2, actor=ACTOR, reason="damage")
    order.refresh_from_db()
    assert order.status == "on_hold"
    hold = order.holds.get()
    assert hold.type == Hold.Type.INVENTORY
    assert hold.reason.startswith("Stock lost at DC-EAST and no other node can serve A × 2")
    assert lines_of(order) == {"A": (0, 2)}
    assert order.fulfillment_orders.get().status == "cancelled"


def test_cancelling_allocated_quantities_releases_their_stock(net):
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-EAST", "B", 5)
    order = net.order(("A", 2), ("B", 1))
    order_allocate(order_id=order.pk)
    line = order.lines.get(sku="A")
    order_cancel(order=order, actor=ACTOR, reason="Customer asked", lines=[{"line": line.pk, "quantity": 1}])
    assert (allocated_at("DC-EAST", "A"), allocated_at("DC-EAST", "B")) == (1, 1)
    order_cancel(order=order, actor=ACTOR, reason="Customer changed their mind")
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert (allocated_at("DC-EAST", "A"), allocated_at("DC-EAST", "B")) == (0, 0)
    assert stock_audit() == []


def test_cancelling_the_backordered_units_makes_a_partially_allocated_order_allocated(net):
    net.stock("DC-EAST", "A", 2)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 3))
    order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, lines_of(order)) == ("partially_allocated", {"A": (2, 1)})
    line = order.lines.get()
    order_cancel(order=order, actor=ACTOR, reason="Customer takes two", lines=[{"line": line.pk, "quantity": 1}])
    order.refresh_from_db()
    assert (order.status, lines_of(order)) == ("allocated", {"A": (2, 0)})
    assert allocated_at("DC-EAST") == 2


def test_routing_a_released_order_again_leaves_it_released(net):
    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    order = released(order)

    assert order_allocate(order_id=order.pk) is None

    order.refresh_from_db()
    assert order.status == "released"
    assert ("allocate", "released", "allocated") not in path_of(order)
    assert allocated_at("DC-EAST") == 2
