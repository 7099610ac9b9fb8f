"""What an allocation tells others: `order.allocated` for a full or a partial allocation (merchants'
webhooks rely on it for both), and `order.partially_allocated` besides when units stay open."""

from __future__ import annotations

import pytest

from fulfillment.routing.services import order_allocate
from oms.models import OutboxEvent

pytestmark = pytest.mark.django_db


def events_of(order) -> dict[str, dict]:
    rows = OutboxEvent.objects.filter(subject_type="orders.order", subject_id=str(order.pk))
    return {e.type: e.payload for e in rows}


def test_a_partial_allocation_emits_allocated_and_partially_allocated(net):
    net.stock("DC-EAST", "A", 1)
    order = net.order(("A", 3))
    order_allocate(order_id=order.pk)
    events = events_of(order)
    assert {"order.allocated", "order.partially_allocated", "order.backordered"} <= set(events)
    partial = events["order.partially_allocated"]
    assert partial["status"] == "partially_allocated"
    assert partial["allocations"] == [{"node": "DC-EAST", "sku": "A", "line": order.lines.get().pk, "quantity": 1}]
    assert events["order.allocated"]["allocations"] == partial["allocations"]


def test_a_full_allocation_emits_allocated_only(net):
    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 3))
    order_allocate(order_id=order.pk)
    events = events_of(order)
    assert "order.allocated" in events
    assert "order.partially_allocated" not in events
    assert "order.backordered" not in events
