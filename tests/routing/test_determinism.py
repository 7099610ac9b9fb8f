"""The same inputs always give the same plan: no dependence on the order nodes or stock arrive in."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fulfillment.routing.costs import DEFAULT_TABLE, ZoneTableEstimator
from fulfillment.routing.planner import LineInfo, Network, NodeInfo, OrderInfo, plan_order
from fulfillment.routing.services import order_route_preview
from fulfillment.routing.spec import Filters, PolicySpec, Ranking, StrategySpec
from inventory.geocoding import geocode

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


def _network(seed: int) -> tuple[Network, OrderInfo]:
    rng = random.Random(42)
    nodes = [
        NodeInfo(i, f"N-{i:02d}", rng.choice(["dc", "store"]), frozenset({"ship", "ship_from_store"}),
                 frozenset({"US"}), "US", "", 35 + rng.random() * 10, -120 + rng.random() * 45,
                 daily_capacity=rng.choice([None, 50]), used_today=rng.randint(0, 20),
                 handling_cost=Decimal(rng.choice(["0.00", "1.50", "3.00"])))
        for i in range(1, 41)
    ]  # fmt: skip
    atp = {(p, n.id): rng.choice([0, 0, 1, 2, 5]) for n in nodes for p in range(1, 6)}
    # Ties everywhere: several nodes share every factor, so only the code can break them.
    nodes += [NodeInfo(100 + i, f"TWIN-{i}", "dc", frozenset({"ship"}), frozenset({"US"}), "US", "", 40.0, -80.0)
              for i in range(3)]  # fmt: skip
    atp.update({(p, 100 + i): 9 for p in range(1, 6) for i in range(3)})
    shuffled = list(nodes)
    random.Random(seed).shuffle(shuffled)
    items = list(atp.items())
    random.Random(seed).shuffle(items)
    order = OrderInfo(1, "T-1", "web", "standard", "ship", "US", "NY", "10001",
                      geocode(country="US", region="NY", postal_code="10001"), Decimal(80), None,
                      tuple(LineInfo(10 + p, p, f"SKU-{p}", 2) for p in range(1, 6)))  # fmt: skip
    return Network(tuple(shuffled), dict(items)), order


@pytest.mark.parametrize(
    "ranking", [Ranking(), Ranking(mode="sort", order=("priority", "distance", "cost"))], ids=["weights", "sort"]
)
def test_the_same_inputs_give_the_same_plan(ranking):
    policy = PolicySpec("p", (StrategySpec("s", ranking=ranking, max_shipments=4, filters=Filters(store_guardrail=1)),))
    estimator = ZoneTableEstimator(DEFAULT_TABLE)
    plans = []
    for seed in range(5):
        network, order = _network(seed)
        plan = plan_order(order, network, policy, now=NOW, estimator=estimator)
        plans.append((plan.allocations, plan.explanation, json.dumps(plan.details, sort_keys=True, default=str)))
    assert all(p == plans[0] for p in plans[1:])
    assert plans[0][0]  # something was placed


@pytest.mark.django_db
def test_the_same_order_is_planned_the_same_way_twice(net):
    for code in ("DC-EAST", "DC-CENTRAL", "STORE-12"):
        net.stock(code, "A", 4)
        net.stock(code, "B", 1)
    order = net.order(("A", 2), ("B", 1))
    first = order_route_preview(order=order, now=NOW).plan
    second = order_route_preview(order=order, now=NOW).plan
    assert first.allocations == second.allocations
    assert first.details == second.details
