"""Strategies and policy versions: conditions choose, failure actions chain, versions are kept."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from fulfillment.routing.models import RoutingDecision, RoutingPolicyVersion, RoutingStrategy
from fulfillment.routing.services import order_allocate, order_route_preview, policy_version_create
from fulfillment.routing.spec import parse_policy
from oms.errors import InvalidInput
from tests.routing.conftest import ACTOR, allocations

pytestmark = pytest.mark.django_db

NEAREST = {"ranking": {"weights": {"distance": 1}}}


def test_conditions_choose_the_strategy(net):
    net.stock("STORE-12", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy(
        {"name": "Marketplace from DCs", "conditions": {"channels": ["marketplace"]},
         "filters": {"node_types": ["dc"]}, **NEAREST},
        {"name": "Everything else", **NEAREST},
    )  # fmt: skip
    web, market = net.order(("A", 1)), net.order(("A", 1), channel=net.marketplace)
    web_decision = order_allocate(order_id=web.pk)
    market_decision = order_allocate(order_id=market.pk)
    assert allocations(web) == {"STORE-12": {"A": 1}}
    assert allocations(market) == {"DC-CENTRAL": {"A": 1}}
    assert (web_decision.strategy, market_decision.strategy) == ("Everything else", "Marketplace from DCs")
    skipped = web_decision.details["strategies"][0]
    assert skipped == {"strategy": "Marketplace from DCs", "applies": False, "why": "channel web not in marketplace"}


def test_order_value_service_level_region_and_tag_conditions(net):
    net.product("A", tags=["fragile"])
    net.node("DC-EAST", tags=["east"])
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-WEST", "A", 5)
    net.policy(
        {"name": "Big express fragile NY", "conditions": {"min_order_value": "100", "service_levels": ["express"],
         "regions": ["US-NY"], "sku_tags": ["fragile"]}, "filters": {"node_types": ["dc"],
         "exclude_node_groups": ["east"]}, **NEAREST},
        {"name": "Default", **NEAREST},
    )  # fmt: skip
    small = net.order(("A", 1), total="50.00", service_level="express")
    big = net.order(("A", 1), total="150.00", service_level="express")
    assert order_allocate(order_id=small.pk).strategy == "Default"
    decision = order_allocate(order_id=big.pk)
    assert decision.strategy == "Big express fragile NY"
    assert allocations(big) == {"DC-WEST": {"A": 1}}
    assert {"node": "DC-EAST", "reason": "node_group", "detail": "in excluded group east"} in decision.details[
        "rejected_nodes"
    ]


def test_a_failed_strategy_hands_over_to_the_next(net):
    net.stock("STORE-12", "A", 5)
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-WEST", "B", 5)
    net.policy(
        {"name": "Stores, complete", "filters": {"node_types": ["store"]}, "ship_complete": True,
         "failure_action": "next_strategy", **NEAREST},
        {"name": "DCs", "filters": {"node_types": ["dc"]}, **NEAREST},
    )  # fmt: skip
    order = net.order(("A", 1), ("B", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"A": 1, "B": 1}}
    assert decision.strategy == "DCs"
    tried = {s["strategy"]: s.get("outcome") for s in decision.details["strategies"]}
    assert tried == {"Stores, complete": "2 unit(s) unallocated", "DCs": "complete"}


def test_an_ordered_sort_puts_priority_before_distance(net):
    net.stock("STORE-12", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    net.stock("VENDOR-A", "A", 5)
    net.policy({"name": "DCs first", "ranking": {"mode": "sort", "order": ["priority", "distance"],
                                                 "priority_groups": {"dc": 1, "store": 2, "dropship": 3}}})  # fmt: skip
    order = net.order(("A", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-CENTRAL": {"A": 1}}
    assert [code for code, n in sorted(decision.details["nodes"].items(), key=lambda kv: kv[1]["rank"])] == [
        "DC-CENTRAL", "STORE-12", "VENDOR-A",
    ]  # fmt: skip
    assert "sorted by priority, distance" in decision.explanation


def test_max_distance_rejects_far_nodes(net):
    net.stock("DC-WEST", "A", 5)
    net.policy({"name": "Near only", "filters": {"max_distance_km": 2000}})
    order = net.order(("A", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {}
    [rejected] = decision.details["rejected_nodes"]
    assert rejected["node"] == "DC-WEST"
    assert rejected["reason"] == "distance"
    assert rejected["detail"].endswith("km away, beyond 2000 km")


def test_a_node_past_its_cut_off_that_misses_the_promise_is_rejected(net):
    # 23:00 UTC is 18:00 in New York: DC-EAST (cut-off 14:00) ships tomorrow, a day late for next-day.
    net.node("DC-EAST", cutoff_time=time(14, 0), time_zone="America/New_York")
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy({"name": "On time", "filters": {"meet_promise": True}, **NEAREST})
    order = net.order(("A", 1), service_level="next_day", promise_date=date(2026, 12, 1))
    plan = order_route_preview(order=order, now=datetime(2026, 11, 30, 23, 0, tzinfo=UTC)).plan
    assert plan.node_codes == ["DC-CENTRAL"]
    assert plan.promise_met is True
    [rejected] = plan.details["rejected_nodes"]
    assert rejected == {
        "node": "DC-EAST",
        "reason": "cut_off",
        "detail": "ships 2026-12-01 (after its 14:00 cut-off), delivers 2026-12-02, after the promise date 2026-12-01",
    }


def test_routing_stores_a_promise_date_when_the_channel_sent_none(net):
    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 1), promise_date=None)
    decision = order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert order.promise_date is not None
    assert decision.details["promise_date_computed"] == order.promise_date.isoformat()
    assert decision.promise_met is True


def test_every_decision_records_the_version_it_used_and_versions_are_never_changed(net):
    net.stock("STORE-12", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    v1 = net.policy({"name": "Nearest", **NEAREST})
    first = net.order(("A", 1))
    assert order_allocate(order_id=first.pk).policy_version == v1
    v2 = policy_version_create(
        policy=v1.policy, document={"strategies": [{"name": "DCs", "filters": {"node_types": ["dc"]}}]},
        comment="Stores are busy before the holidays", actor=ACTOR,
    )  # fmt: skip
    second = net.order(("A", 1))
    decision = order_allocate(order_id=second.pk)
    assert (v2.number, decision.policy_version, decision.policy_label) == (2, v2, "Main v2")
    assert allocations(second) == {"DC-CENTRAL": {"A": 1}}
    assert RoutingDecision.objects.get(order=first).policy_version == v1
    v1 = RoutingPolicyVersion.objects.get(pk=v1.pk)
    v1.comment = "rewritten"
    with pytest.raises(ValueError, match="never changed"):
        v1.save()
    strategy = RoutingStrategy.objects.filter(version=v1).first()
    strategy.name = "changed"
    with pytest.raises(ValueError, match="never changed"):
        strategy.save()


def test_a_bad_policy_document_is_refused_naming_the_key():
    with pytest.raises(InvalidInput) as caught:
        parse_policy({"strategies": [{"name": "x", "ranking": {"weights": {"speed": 1, "color": 2}},
                                      "filters": {"node_types": ["warehouse"]}}]})  # fmt: skip
    fields = {e.field for e in caught.value.errors}
    assert fields == {"strategies[0].ranking.weights.color", "strategies[0].filters.node_types"}
