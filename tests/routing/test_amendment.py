"""An amendment that changes where or how the order ships routes it again before release."""

from __future__ import annotations

import pytest

from fulfillment.execution.models import FulfillmentSettings
from fulfillment.routing.models import RoutingDecision
from fulfillment.routing.services import order_allocate
from inventory.models import StockLevel
from inventory.selectors import stock_audit
from oms.actors import Actor
from orders.models import Order
from orders.services.amend import order_amend
from tests.routing.conftest import NEW_YORK, allocations, lines_of

# Committed transactions, so the outbox consumers run (eagerly) as they would in production.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def remorse(net):
    """A remorse period keeps allocated orders unreleased, open to amendment."""
    FulfillmentSettings.objects.create(merchant=net.merchant, remorse_minutes=30)


NEAREST = {"ranking": {"weights": {"distance": 1}}}
CHICAGO = {**NEW_YORK, "line1": "233 S Wacker Dr", "city": "Chicago", "region": "IL", "postal_code": "60606"}


def allocated_at(code: str) -> int:
    return StockLevel.objects.get(node__code=code, product__sku="A").allocated


def test_a_new_address_moves_the_allocation_to_the_nearest_node_of_the_new_destination(net):
    net.stock("DC-EAST", "A", 5)
    net.stock("DC-CENTRAL", "A", 5)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    assert allocations(order) == {"DC-EAST": {"A": 2}}

    order_amend(order=order, changes={"shipping_address": CHICAGO}, actor=Actor.system("csr"))

    order = Order.objects.get(pk=order.pk)
    assert allocations(order) == {"DC-CENTRAL": {"A": 2}}
    assert (allocated_at("DC-EAST"), allocated_at("DC-CENTRAL")) == (0, 2)
    assert order.status == "allocated"
    assert lines_of(order) == {"A": (2, 0)}
    assert order.routing_decisions.latest("id").trigger == RoutingDecision.Trigger.AMENDMENT
    assert order.fulfillment_orders.get(node__code="DC-EAST").status == "cancelled"
    assert stock_audit() == []


def test_notes_do_not_route_again(net):
    net.stock("DC-EAST", "A", 5)
    net.policy({"name": "Nearest", **NEAREST})
    order = net.order(("A", 1))
    order_allocate(order_id=order.pk)
    order_amend(order=order, changes={"notes": "ring twice"}, actor=Actor.system("csr"))
    assert order.routing_decisions.count() == 1
