"""Routing promises a channel no more than the availability API shows it: the channel's buffer
holds back units over the whole network, and a node short of its safety stock holds nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from fulfillment.routing.services import order_allocate, order_route_preview
from inventory.selectors import atp_by_node
from tests.factories import ChannelRuleFactory
from tests.routing.conftest import allocations, lines_of

pytestmark = pytest.mark.django_db


def safe_to_promise(net, sku: str, channel: str) -> int:
    response = net.client.get("/api/v1/availability/", {"sku": sku, "channel": channel})
    assert response.status_code == 200, response.json()
    return response.json()["results"][0]["safe_to_promise"]


def test_it_never_promises_the_units_the_channels_buffer_withholds(net):
    net.stock("DC-EAST", "RED", 4)
    net.stock("DC-CENTRAL", "RED", 1)
    ChannelRuleFactory(channel=net.web, buffer_type="fixed", buffer_value=Decimal(3))
    assert safe_to_promise(net, "RED", "web") == 2
    order = net.order(("RED", 4))

    decision = order_allocate(order_id=order.pk)

    assert lines_of(order) == {"RED": (2, 2)}  # not 4 from two nodes that hold 5
    assert decision.outcome == "partially_allocated"
    line = decision.details["lines"][0]
    reasons = {r["node"]: (r["reason"], r["detail"]) for r in line["rejected"]}
    assert reasons["DC-EAST"] == ("channel_buffer", "the web channel's buffer leaves 2 of 4 to promise")
    assert "held back by the channel's availability buffer" in decision.explanation


def test_a_buffer_of_one_channel_does_not_hold_back_another(net):
    net.stock("DC-EAST", "RED", 5)
    ChannelRuleFactory(channel=net.web, buffer_type="percent", buffer_value=Decimal(50))
    assert (safe_to_promise(net, "RED", "web"), safe_to_promise(net, "RED", "marketplace")) == (2, 5)

    assert order_route_preview(order=net.order(("RED", 5))).plan.unallocated != {}
    marketplace = net.order(("RED", 5), channel=net.marketplace)
    order_allocate(order_id=marketplace.pk)

    assert allocations(marketplace) == {"DC-EAST": {"RED": 5}}
    assert safe_to_promise(net, "RED", "web") == 0
    web = net.order(("RED", 1))
    order_allocate(order_id=web.pk)
    assert lines_of(web) == {"RED": (0, 1)}


def test_a_node_short_of_its_safety_stock_holds_nothing_not_a_debt(net):
    # DC-EAST: 2 on hand, safety stock 5 (on_hand - allocated - safety = -3).
    east = net.stock("DC-EAST", "RED", 2, safety_stock=5)
    central = net.stock("DC-CENTRAL", "RED", 4)
    ChannelRuleFactory(channel=net.web, buffer_type="fixed", buffer_value=Decimal(1))
    assert atp_by_node(product_ids=[east.product_id], node_ids=[east.node_id, central.node_id]) == {
        (east.product_id, east.node_id): 0,
        (central.product_id, central.node_id): 4,
    }
    assert safe_to_promise(net, "RED", "web") == 3
    order = net.order(("RED", 3))

    order_allocate(order_id=order.pk)

    # Summed unclamped, -3 + 4 - 1 would have left nothing to promise.
    assert allocations(order) == {"DC-CENTRAL": {"RED": 3}}
