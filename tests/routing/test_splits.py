"""Splits: fewest shipments within the limit, ship-complete waits whole, bundles stay together."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fulfillment.routing.costs import DEFAULT_TABLE, ZoneTableEstimator
from fulfillment.routing.planner import LineInfo, Network, NodeInfo, OrderInfo, plan_order
from fulfillment.routing.services import order_allocate
from fulfillment.routing.spec import PolicySpec, StrategySpec
from inventory.geocoding import geocode
from orders.models import Hold
from tests.routing.conftest import allocations, lines_of

NEAREST = {"ranking": {"weights": {"distance": 1}}}


@pytest.mark.django_db
def test_a_split_minimises_shipments(net):
    # Nearest node per line would ship three parcels (STORE-12, DC-EAST, DC-CENTRAL);
    # DC-WEST has A and B, DC-CENTRAL has C: two are enough.
    net.stock("STORE-12", "A", 5)
    net.stock("DC-EAST", "B", 5)
    net.stock("DC-CENTRAL", "C", 5)
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-WEST", "B", 5)
    net.policy({"name": "Split", "max_shipments": 3, **NEAREST})
    order = net.order(("A", 1), ("B", 1), ("C", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"A": 1, "B": 1}, "DC-CENTRAL": {"C": 1}}
    order.refresh_from_db()
    assert order.status == "allocated"
    assert decision.shipments == 2
    assert decision.explanation.startswith(
        "Split across DC-CENTRAL (1 line) and DC-WEST (2 lines): no node had all 3 lines; fewest shipments"
    )


@pytest.mark.django_db
def test_never_split_takes_the_node_with_most_and_backorders_the_rest(net):
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-WEST", "B", 5)
    net.stock("DC-CENTRAL", "C", 5)
    net.policy({"name": "One parcel", "max_shipments": 1, **NEAREST})
    order = net.order(("A", 1), ("B", 1), ("C", 1))
    order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert allocations(order) == {"DC-WEST": {"A": 1, "B": 1}}
    assert order.status == "partially_allocated"
    assert lines_of(order)["C"] == (0, 1)


@pytest.mark.django_db
def test_ship_complete_holds_instead_of_splitting(net):
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-CENTRAL", "B", 5)
    net.policy({"name": "Complete", "ship_complete": True, "failure_action": "hold", **NEAREST})
    order = net.order(("A", 1), ("B", 1))
    decision = order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert allocations(order) == {}
    assert order.status == "on_hold"
    assert order.status_before_hold == "backordered"
    hold = order.holds.get()
    assert hold.type == Hold.Type.INVENTORY
    assert decision.outcome == "held"
    assert decision.explanation.startswith("Held whole for a CSR (ship-complete): no single node had both lines")
    assert hold.reason == decision.explanation


@pytest.mark.django_db
def test_ship_complete_per_channel(net):
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-CENTRAL", "B", 5)
    net.policy({"name": "Marketplace ships complete", "ship_complete_channels": ["marketplace"], **NEAREST})
    web = net.order(("A", 1), ("B", 1))
    marketplace = net.order(("A", 1), ("B", 1), channel=net.marketplace)
    order_allocate(order_id=web.pk)
    order_allocate(order_id=marketplace.pk)
    assert allocations(web) == {"DC-WEST": {"A": 1}, "DC-CENTRAL": {"B": 1}}
    marketplace.refresh_from_db()
    assert allocations(marketplace) == {}
    assert marketplace.status == "backordered"


@pytest.mark.django_db
def test_the_lines_of_a_bundle_ship_from_one_node(net):
    net.stock("STORE-12", "A", 5)
    net.stock("DC-EAST", "B", 5)
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-WEST", "B", 5)
    net.stock("STORE-12", "C", 5)
    net.policy({"name": "Split", "max_shipments": 3, **NEAREST})
    order = net.order(("A", 1, "KIT-1"), ("B", 1, "KIT-1"), ("C", 1))
    order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"A": 1, "B": 1}, "STORE-12": {"C": 1}}


@pytest.mark.django_db
def test_a_bundle_no_node_has_whole_waits_whole(net):
    net.stock("STORE-12", "A", 5)
    net.stock("DC-EAST", "B", 5)
    order = net.order(("A", 1, "KIT-1"), ("B", 1, "KIT-1"))
    order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert allocations(order) == {}
    assert lines_of(order) == {"A": (0, 1), "B": (0, 1)}


@pytest.mark.django_db
def test_a_line_is_split_by_quantity_when_no_node_has_it_all(net):
    net.stock("DC-EAST", "A", 3)
    net.stock("DC-CENTRAL", "A", 2)
    net.policy({"name": "Split", "max_shipments": 2, **NEAREST})
    order = net.order(("A", 5))
    order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-EAST": {"A": 3}, "DC-CENTRAL": {"A": 2}}
    assert lines_of(order) == {"A": (5, 0)}


@pytest.mark.django_db
def test_what_no_node_has_is_backordered_and_the_rest_allocated(net):
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-EAST", "B", 0)
    order = net.order(("A", 2), ("B", 1))
    decision = order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "partially_allocated"
    assert lines_of(order) == {"A": (2, 0), "B": (0, 1)}
    assert decision.explanation == "Allocated from DC-EAST (1 line); B × 1 backordered (DC-EAST out of stock)."


# --- the pure planner -------------------------------------------------------------------------------

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
NYC = geocode(country="US", region="NY", postal_code="10001")


def _node(pk: int, code: str, lat: float, lng: float) -> NodeInfo:
    return NodeInfo(pk, code, "dc", frozenset({"ship"}), frozenset({"US"}), "US", "", lat, lng)


def _order(*lines: LineInfo) -> OrderInfo:
    return OrderInfo(1, "T-1", "web", "standard", "ship", "US", "NY", "10001", NYC, Decimal(50), None, lines)


def test_the_exact_search_beats_the_greedy_cover():
    # X has the most lines (1-4), so a greedy cover takes X, then Y for 5 and Z for 6: three
    # parcels. Y (1, 2, 5) and Z (3, 4, 6) cover everything in two.
    nodes = (_node(1, "X", 40.7, -74.2), _node(2, "Y", 41.9, -87.6), _node(3, "Z", 39.5, -119.8))
    has = {"X": [1, 2, 3, 4], "Y": [1, 2, 5], "Z": [3, 4, 6]}
    atp = {(p, n.id): 5 for n in nodes for p in has[n.code]}
    order = _order(*[LineInfo(100 + p, p, f"P{p}", 1) for p in range(1, 7)])
    policy = PolicySpec("test", (StrategySpec("split", max_shipments=3),))
    plan = plan_order(order, Network(nodes, atp), policy, now=NOW, estimator=ZoneTableEstimator(DEFAULT_TABLE))
    assert plan.complete
    assert sorted(plan.node_codes) == ["Y", "Z"]
    assert "exact" in plan.details["how"]
