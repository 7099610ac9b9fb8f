"""The routing endpoint and the order API's allocations."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fulfillment.routing.services import order_allocate

pytestmark = pytest.mark.django_db


def test_the_routing_endpoint_explains_every_decision(net):
    net.stock("STORE-12", "A", 3)
    net.stock("DC-CENTRAL", "A", 10)
    net.policy({"name": "Keep 2", "filters": {"store_guardrail": 2}})
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)

    response = net.client.get(f"/api/v1/orders/{order.number}/routing/")

    assert response.status_code == 200
    body = response.json()
    assert (body["order"], body["status"]) == (order.number, "allocated")
    [decision] = body["decisions"]
    assert decision["explanation"] == (
        "Shipped whole from DC-CENTRAL: the only node with it; STORE-12 kept back by its guardrail."
    )
    assert decision["policy"] == {"id": decision["policy"]["id"], "name": "Main", "version": 1}
    assert decision["outcome"] == "allocated"
    assert decision["trigger"] == "ready"
    assert decision["duration_ms"] > 0
    assert set(decision["nodes"]["DC-CENTRAL"]["factors"]) == {"cost", "speed", "distance", "priority", "load"}
    [line] = decision["lines"]
    assert line["candidates"] == [  # by rank: the store is nearer, but its guardrail leaves only 1
        {"node": "STORE-12", "available": 1, "full": False},
        {"node": "DC-CENTRAL", "available": 10, "full": True},
    ]
    assert {"node": "STORE-12", "reason": "guardrail", "detail": "3 available, keeps 2 back"} in line["rejected"]
    assert decision["plan"] == [
        {"node": "DC-CENTRAL", "lines": [{"line": line["line"], "sku": "A", "quantity": 2}],
         "cost": decision["plan"][0]["cost"], "delivery": decision["plan"][0]["delivery"]},
    ]  # fmt: skip
    assert decision["fulfillment_orders"] == [order.fulfillment_orders.get().pk]


def test_another_merchants_order_answers_404(net, api):
    order = net.order(("A", 1))
    response = api.client.get(f"/api/v1/orders/{order.number}/routing/")
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "not_found"


def test_the_order_shows_each_lines_allocations_and_backorder(net):
    net.stock("DC-EAST", "A", 1)
    net.stock("DC-CENTRAL", "A", 1)
    net.stock("DC-EAST", "B", 0)
    net.policy({"name": "Split", "max_shipments": 2})
    order = net.order(("A", 3), ("B", 1))
    order_allocate(order_id=order.pk)
    lines = net.client.get(f"/api/v1/orders/{order.number}/").json()["lines"]
    assert [(x["sku"], x["allocations"], x["backordered"]) for x in lines] == [
        ("A", [{"node": "DC-CENTRAL", "quantity": 1}, {"node": "DC-EAST", "quantity": 1}], 1),
        ("B", [], 1),
    ]
    assert lines[0]["quantities"]["allocated"] == 2


def test_the_order_detail_runs_the_same_queries_whatever_its_allocations(net):
    for sku in ("A", "B", "C"):
        net.stock("DC-EAST", sku, 5)
        net.stock("DC-CENTRAL", sku, 5)
    small = net.order(("A", 1))
    large = net.order(("A", 7), ("B", 6), ("C", 6))
    net.policy({"name": "Split", "max_shipments": 2})
    order_allocate(order_id=small.pk)
    order_allocate(order_id=large.pk)
    assert large.fulfillment_orders.count() == 2
    net.client.get(f"/api/v1/orders/{small.number}/")  # warm-up
    with CaptureQueriesContext(connection) as one:
        net.client.get(f"/api/v1/orders/{small.number}/")
    with CaptureQueriesContext(connection) as many:
        assert net.client.get(f"/api/v1/orders/{large.number}/").status_code == 200
    assert len(many) == len(one)
