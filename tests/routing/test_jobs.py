"""Routing is triggered by `order.ready` (the payments rule's transition) and by a resolved hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from fulfillment.routing.models import RoutingDecision
from inventory.models import Node
from oms.models import OutboxEvent
from orders.models import Order
from orders.services.holds import hold_resolve
from orders.services.timeline import run_transition
from tests import payloads
from tests.factories import NodeFactory, StockLevelFactory
from tests.routing.conftest import ACTOR, allocations, path_of

pytestmark = pytest.mark.django_db


def test_the_ready_transition_starts_the_allocation_job(net, django_capture_on_commit_callbacks):
    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 2), status="validated")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run_transition(order, "mark_ready", actor=ACTOR, event_type="order.ready")
    order.refresh_from_db()
    assert ("allocate", "ready", "allocated") in path_of(order)
    assert allocations(order) == {"DC-EAST": {"A": 2}}
    decision = RoutingDecision.objects.get(order=order)
    assert decision.trigger == "ready"
    # The event is delivered once per consumer: a redelivery changes nothing.
    from oms.outbox import relay

    OutboxEvent.objects.filter(type="order.ready").update(dispatched_at=None)
    relay()
    assert RoutingDecision.objects.filter(order=order).count() == 1


def test_a_captured_order_is_allocated_end_to_end(api, django_capture_on_commit_callbacks):
    dc = NodeFactory(code="ACME-DC", type=Node.Type.DC, ships_to=["US"], merchants=[api.merchant])
    StockLevelFactory(product=api.red, node=dc, on_hand=10)
    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post("/api/v1/orders/", payloads.order(external_id="E2E-1"), format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    names = [name for name, _, _ in path_of(order) if not name.startswith("fulfillment_order_")]
    assert names[names.index("mark_ready") :][:3] == ["mark_ready", "allocate", "release"]
    body = api.client.get(f"/api/v1/orders/{order.number}/").json()
    assert body["lines"][0]["allocations"] == [{"node": "ACME-DC", "quantity": 2}]
    assert body["lines"][0]["backordered"] == 0
    assert body["promise_date"] is not None  # computed by routing: the channel sent none


def test_resolving_a_hold_routes_the_order_again(net, django_capture_on_commit_callbacks):
    net.stock("DC-WEST", "A", 5)
    net.stock("DC-CENTRAL", "B", 5)
    net.policy({"name": "Complete", "ship_complete": True, "failure_action": "hold"})
    order = net.order(("A", 1), ("B", 1))
    from fulfillment.routing.services import order_allocate

    order_allocate(order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "on_hold"
    net.stock("DC-WEST", "B", 5)  # a CSR moved stock, then resolves the hold
    with django_capture_on_commit_callbacks(execute=True):
        hold_resolve(hold=order.holds.get(), actor=ACTOR, note="Stock moved to DC-WEST")
    order.refresh_from_db()
    assert allocations(order) == {"DC-WEST": {"A": 1, "B": 1}}
    assert RoutingDecision.objects.filter(order=order).latest("id").trigger == "hold_resolved"
    assert order.total == Decimal("39.98")
