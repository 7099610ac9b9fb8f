from __future__ import annotations

import pytest

from fulfillment.routing.demo import seed_routing
from fulfillment.routing.models import RoutingPolicyVersion
from fulfillment.routing.services import order_allocate
from inventory.demo import seed_catalog, seed_network
from inventory.models import StockLevel
from oms.demo import seed_tenancy
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_the_demo_network_routes_orders_and_seeding_twice_changes_nothing():
    merchant = seed_tenancy()
    seed_network(merchant)
    products = seed_catalog(merchant)
    seed_routing(merchant, products)
    rows = StockLevel.objects.count()
    seed_routing(merchant, products)
    assert StockLevel.objects.count() == rows
    assert RoutingPolicyVersion.objects.filter(policy__merchant=merchant).count() == 1
    order = OrderFactory(merchant=merchant, status="ready")
    OrderLineFactory(order=order, product=products["TSHIRT-RED-M"], quantity=1)
    decision = order_allocate(order_id=order.pk)
    assert decision.outcome == "allocated", decision.explanation
