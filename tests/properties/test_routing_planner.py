"""Random networks and orders never make the routing planner break its promises: it places no
more than a node has (safe to promise) nor more than a line asks, accounts for every unit, stays
within the shipment limit, gives the same plan for the same inputs, and with ship-complete
either places the whole order or nothing."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from fulfillment.routing.costs import DEFAULT_TABLE, ZoneTableEstimator
from fulfillment.routing.planner import LineInfo, Network, NodeInfo, OrderInfo, plan_order
from fulfillment.routing.spec import PolicySpec, StrategySpec
from inventory.geocoding import geocode

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
NYC = geocode(country="US", region="NY", postal_code="10001")
ESTIMATOR = ZoneTableEstimator(DEFAULT_TABLE)
PRODUCTS = range(1, 5)

node_specs = st.lists(
    st.tuples(
        st.sampled_from(["dc", "store"]),
        st.floats(30, 48),  # latitude
        st.floats(-122, -70),  # longitude
        st.sampled_from([None, 1, 5, 50]),  # daily capacity
        st.integers(0, 5),  # used today
    ),
    min_size=1,
    max_size=6,
)
atp_values = st.lists(st.integers(0, 6), min_size=6 * len(PRODUCTS), max_size=6 * len(PRODUCTS))
order_lines = st.lists(st.tuples(st.sampled_from(PRODUCTS), st.integers(1, 6)), min_size=1, max_size=4)


def build(nodes_spec, atps, lines_spec) -> tuple[Network, OrderInfo]:
    nodes = tuple(
        NodeInfo(i, f"N-{i}", kind, frozenset({"ship", "ship_from_store"}), frozenset({"US"}), "US", "", lat, lng,
                 daily_capacity=capacity, used_today=used)
        for i, (kind, lat, lng, capacity, used) in enumerate(nodes_spec, start=1)
    )  # fmt: skip
    atp = {(p, n.id): atps[(n.id - 1) * len(PRODUCTS) + p - 1] for n in nodes for p in PRODUCTS}
    lines = tuple(LineInfo(100 + i, p, f"P{p}", q) for i, (p, q) in enumerate(lines_spec))
    order = OrderInfo(1, "T-1", "web", "standard", "ship", "US", "NY", "10001", NYC, Decimal(50), None, lines)
    return Network(nodes, atp), order


@settings(max_examples=150, deadline=None)
@given(
    nodes_spec=node_specs,
    atps=atp_values,
    lines_spec=order_lines,
    max_shipments=st.sampled_from([None, 1, 2, 3]),
    ship_complete=st.booleans(),
)
def test_no_random_network_makes_the_planner_break_its_promises(
    nodes_spec, atps, lines_spec, max_shipments, ship_complete
):
    network, order = build(nodes_spec, atps, lines_spec)
    policy = PolicySpec("p", (StrategySpec("s", max_shipments=max_shipments, ship_complete=ship_complete),))
    plan = plan_order(order, network, policy, now=NOW, estimator=ESTIMATOR)

    taken: dict[tuple[int, int], int] = defaultdict(int)
    placed: dict[int, int] = defaultdict(int)
    for allocation in plan.allocations:
        assert allocation.quantity > 0
        taken[(allocation.product_id, allocation.node_id)] += allocation.quantity
        placed[allocation.line_id] += allocation.quantity
    # Never more than a node can promise, never more than a line asks, every unit accounted for.
    for key, quantity in taken.items():
        assert quantity <= network.atp.get(key, 0), (key, quantity)
    for line in order.lines:
        assert placed[line.id] + plan.unallocated.get(line.id, 0) == line.quantity
    if max_shipments is not None:
        assert len(plan.node_codes) <= max_shipments
    if ship_complete:
        assert plan.complete or not plan.allocations
    # The same inputs give the same decision.
    again = plan_order(order, network, policy, now=NOW, estimator=ESTIMATOR)
    assert [(a.line_id, a.node_id, a.quantity) for a in again.allocations] == [
        (a.line_id, a.node_id, a.quantity) for a in plan.allocations
    ]
