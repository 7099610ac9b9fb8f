"""Single-node plans with reservation: the factors pick the node the merchant asked for."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fulfillment.routing.models import RoutingDecision
from fulfillment.routing.services import order_allocate
from inventory.models import Movement, StockLevel
from inventory.selectors import stock_audit
from oms.models import OutboxEvent
from orders.models import Order
from tests.routing.conftest import allocations, lines_of

pytestmark = pytest.mark.django_db


def weights(**w: float) -> dict:
    return {"name": "Weighted", "ranking": {"mode": "weights", "weights": w}}


def test_it_ships_the_whole_order_from_one_node_and_reserves_its_stock(net):
    net.stock("DC-EAST", "RED", 10)
    net.stock("DC-EAST", "BLUE", 10)
    order = net.order(("RED", 2), ("BLUE", 1))

    decision = order_allocate(order_id=order.pk)

    order.refresh_from_db()
    assert order.status == "allocated"
    assert allocations(order) == {"DC-EAST": {"RED": 2, "BLUE": 1}}
    assert lines_of(order) == {"RED": (2, 0), "BLUE": (1, 0)}
    red = StockLevel.objects.get(node__code="DC-EAST", product__sku="RED")
    assert red.allocated == 2
    fo = order.fulfillment_orders.get()
    assert set(Movement.objects.filter(kind="allocation").values_list("ref_type", "ref_id")) == {
        ("fulfillment.fulfillmentorder", str(fo.pk))
    }
    assert stock_audit() == []
    assert decision.outcome == "allocated"
    assert fo.decision == decision
    assert decision.explanation == "Shipped whole from DC-EAST: the only node with both lines."
    assert OutboxEvent.objects.filter(type="order.allocated", subject_id=str(order.pk)).count() == 1
    assert order.events.last().name == "allocate"


def test_distance_weight_picks_the_nearest_node(net):
    for code in ("DC-EAST", "DC-CENTRAL", "DC-WEST"):
        net.stock(code, "RED", 5)
    net.policy(weights(distance=1))
    order = net.order(("RED", 1))
    order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-EAST": {"RED": 1}}


def test_cost_weight_picks_the_cheapest_node(net):
    net.node("DC-EAST", handling_cost="9.00")  # near, but expensive to handle
    net.node("DC-CENTRAL", handling_cost="4.00")
    net.node("DC-WEST", handling_cost="2.00")
    for code in ("DC-EAST", "DC-CENTRAL", "DC-WEST"):
        net.stock(code, "RED", 5)
    net.policy(weights(cost=1))
    order = net.order(("RED", 1))
    decision = order_allocate(order_id=order.pk)
    # zone cost + handling: EAST 5.50 + 9.00, CENTRAL 8.80 + 4.00, WEST 11.50 + 2.00
    assert allocations(order) == {"DC-CENTRAL": {"RED": 1}}
    assert decision.details["nodes"]["DC-CENTRAL"]["factors"]["cost"] == 12.8
    assert decision.estimated_cost == Decimal("12.80")


def test_a_stores_guardrail_excludes_it(net):
    net.stock("STORE-12", "RED", 3)  # nearest, but only 3: a guardrail of 2 leaves 1
    net.stock("DC-WEST", "RED", 50)
    net.policy({"name": "Stores keep 2", "filters": {"store_guardrail": 2}, "ranking": {"weights": {"distance": 1}}})
    order = net.order(("RED", 2))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"RED": 2}}
    assert (
        decision.explanation
        == "Shipped whole from DC-WEST: the only node with it; STORE-12 kept back by its guardrail."
    )
    rejected = decision.details["lines"][0]["rejected"]
    assert {"node": "STORE-12", "reason": "guardrail", "detail": "3 available, keeps 2 back"} in rejected


def test_a_full_nodes_capacity_shifts_the_order_to_the_next(net):
    net.node("DC-EAST", daily_capacity=1)
    net.stock("DC-EAST", "RED", 50)
    net.stock("DC-CENTRAL", "RED", 50)
    net.policy(weights(distance=1))
    first, second = net.order(("RED", 1)), net.order(("RED", 1))
    order_allocate(order_id=first.pk)
    decision = order_allocate(order_id=second.pk)
    assert allocations(first) == {"DC-EAST": {"RED": 1}}
    assert allocations(second) == {"DC-CENTRAL": {"RED": 1}}
    assert {"node": "DC-EAST", "reason": "capacity", "detail": "at capacity today (1 of 1 orders)"} in decision.details[
        "rejected_nodes"
    ]


def test_a_capacity_of_zero_switches_a_node_off(net):
    net.node("DC-EAST", daily_capacity=0)
    net.stock("DC-EAST", "RED", 50)
    net.stock("DC-WEST", "RED", 50)
    order = net.order(("RED", 1))
    order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"RED": 1}}


def test_running_the_job_again_changes_nothing(net):
    net.stock("DC-EAST", "RED", 5)
    order = net.order(("RED", 2))
    assert order_allocate(order_id=order.pk) is not None
    assert order_allocate(order_id=order.pk) is None
    assert RoutingDecision.objects.filter(order=order).count() == 1
    assert StockLevel.objects.get(node__code="DC-EAST").allocated == 2
    assert Order.objects.get(pk=order.pk).fulfillment_orders.count() == 1


def test_nothing_in_stock_backorders_the_order(net):
    net.stock("DC-EAST", "RED", 0)
    order = net.order(("RED", 2))
    decision = order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "backordered"
    assert lines_of(order) == {"RED": (0, 2)}
    assert decision.outcome == "backordered"
    assert decision.explanation == "Nothing allocated, backordered: RED × 2 (DC-EAST out of stock)."
    assert OutboxEvent.objects.filter(type="order.backordered", subject_id=str(order.pk)).exists()
    assert order.routing_backorder.next_attempt_at is not None


def test_an_unknown_destination_ranks_on_the_other_factors_and_says_so(net):
    net.node("DC-EAST", handling_cost="4.00")
    net.node("DC-WEST", handling_cost="1.00")
    net.stock("DC-EAST", "RED", 5)
    net.stock("DC-WEST", "RED", 5)
    address = {"line1": "1 Somewhere", "city": "Nowhere", "region": "ZZ", "postal_code": "ABC", "country": "US"}
    order = net.order(("RED", 1), shipping_address=address)
    decision = order_allocate(order_id=order.pk)
    assert decision.details["destination"]["precision"] == "unknown"
    assert decision.mean_distance_km is None
    # Without a distance both lanes price as "same country"; the cheaper handling wins.
    assert allocations(order) == {"DC-WEST": {"RED": 1}}
    assert decision.explanation.endswith("Distance unknown, so nodes were ranked on the other factors.")
