"""Pick-up allocates only at the chosen store (or holds, naming stores that could); drop-ship
lines go to their vendor; ship-from-store needs the capability."""

from __future__ import annotations

import pytest

from fulfillment.routing.services import order_allocate
from orders.models import Hold
from tests.routing.conftest import allocations, lines_of

pytestmark = pytest.mark.django_db


def pickup_order(net, *lines, store="STORE-12"):
    return net.order(*lines, fulfillment_type="pickup", pickup_node=net.node(store), service_level="pickup")


def test_a_pickup_order_allocates_at_the_chosen_store(net):
    net.stock("STORE-12", "A", 2)
    net.stock("DC-EAST", "A", 50)  # nearer stock elsewhere does not matter
    net.stock("STORE-20", "A", 50)
    net.policy({"name": "With a guardrail", "filters": {"store_guardrail": 5}})
    order = pickup_order(net, ("A", 2))
    decision = order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert allocations(order) == {"STORE-12": {"A": 2}}
    assert order.status == "allocated"
    assert decision.explanation == "Allocated for pick-up at STORE-12."


def test_a_pickup_order_the_store_cannot_serve_is_held_with_the_nearest_stores_that_could(net):
    net.stock("STORE-12", "A", 1)
    net.stock("STORE-30", "A", 5)
    net.stock("STORE-20", "A", 5)
    net.stock("DC-EAST", "A", 50)  # not a pick-up store
    order = pickup_order(net, ("A", 2))
    decision = order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert allocations(order) == {}
    assert order.status == "on_hold"
    hold = order.holds.get()
    assert hold.type == Hold.Type.INVENTORY
    assert [a["node"] for a in hold.details["alternatives"]] == ["STORE-20", "STORE-30"]
    assert decision.outcome == "held"
    assert decision.explanation.startswith("Held: pick-up store STORE-12 cannot supply A × 2")
    assert "nearest stores that could: STORE-20 (9 km), STORE-30 (50 km)." in decision.explanation
    assert lines_of(order) == {"A": (0, 2)}


def test_ship_from_store_needs_the_capability(net):
    net.node("STORE-12", capabilities=["pickup"])
    net.stock("STORE-12", "A", 5)
    net.stock("DC-WEST", "A", 5)
    order = net.order(("A", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"A": 1}}
    assert {"node": "STORE-12", "reason": "capability", "detail": "cannot ship from store"} in decision.details[
        "rejected_nodes"
    ]


def test_drop_ship_rules_send_a_sku_or_a_tag_to_its_vendor(net):
    net.product("SOFA", tags=["furniture"])
    for sku in ("GRILL", "SOFA", "A"):
        net.stock("DC-EAST", sku, 5)  # the DC has them too, but the rules say the vendor ships them
    net.stock("VENDOR-A", "GRILL", 5)
    net.stock("VENDOR-A", "SOFA", 5)
    net.policy(
        {"name": "Split", "max_shipments": 3},
        dropship=[{"sku": "GRILL", "node": "VENDOR-A"}, {"tag": "furniture", "node": "VENDOR-A"}],
    )
    order = net.order(("A", 1), ("GRILL", 1), ("SOFA", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-EAST": {"A": 1}, "VENDOR-A": {"GRILL": 1, "SOFA": 1}}
    grill = next(line for line in decision.details["lines"] if line["sku"] == "GRILL")
    assert {"node": "DC-EAST", "reason": "dropship_rule", "detail": "GRILL is drop-shipped by VENDOR-A"} in grill[
        "rejected"
    ]


def test_a_sku_flagged_not_routable_at_a_node_is_not_allocated_there(net):
    from fulfillment.routing.models import SkuNodeRule

    net.stock("DC-EAST", "A", 5)
    net.stock("DC-WEST", "A", 5)
    SkuNodeRule.objects.create(product=net.product("A"), node=net.node("DC-EAST"), may_route=False, note="display")
    order = net.order(("A", 1))
    decision = order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-WEST": {"A": 1}}
    assert "DC-EAST may not route the SKU" in decision.explanation
