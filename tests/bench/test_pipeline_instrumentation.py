"""The HTTP pipeline bench's own parts (bench/pipeline.py): its one-INSERT ceiling endpoint and
its per-step statement counting, which must see what CaptureQueriesContext sees."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from bench import statements
from bench.ceiling import TABLE, ceiling_table_create
from inventory.models import Node
from orders.models import Order
from tests import payloads
from tests.factories import NodeFactory, ProductFactory, StockLevelFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture
def counting():
    statements.install()
    yield
    statements.uninstall()


@pytest.mark.urls("bench.urls")
def test_the_ceiling_endpoint_does_one_insert(counting):
    ceiling_table_create()
    statements.reset()
    with CaptureQueriesContext(connection) as ctx:
        response = APIClient().post("/bench/ceiling/", {"lines": [1, 2, 3]}, format="json")
    assert response.status_code == 201
    assert [q["sql"].split()[0] for q in ctx.captured_queries] == ["INSERT"]
    counted = statements.local()
    assert counted.keys() == {"ceiling"}
    assert (counted["ceiling"]["statements"], counted["ceiling"]["calls"]) == (1, 1)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT payload::text FROM {TABLE} WHERE id = %s", [response.json()["id"]])
        assert json.loads(cursor.fetchone()[0]) == {"lines": [1, 2, 3]}


def test_statements_are_counted_by_step_as_capture_queries_context_sees_them(api, counting):
    ProductFactory(merchant=api.merchant, sku="MUG-WHITE", name="White mug")
    dc = NodeFactory(code="ACME-DC", type=Node.Type.DC, ships_to=["US"], merchants=[api.merchant])
    for product in api.merchant.products.all():
        StockLevelFactory(product=product, node=dc, on_hand=100)
    prices = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-M": "24.00", "MUG-WHITE": "12.50"}
    total = str(sum((Decimal(p) for p in prices.values()), Decimal("5.00")))
    body = payloads.order(
        external_id="BENCH-1",
        lines=[{"sku": sku, "quantity": 1, "unit_price": price, "tax": "0.00"} for sku, price in prices.items()],
        payment={"transaction_type": "capture", "gateway": "sandbox", "token": "tok_visa_ok", "amount": total},
        total=total,
    )
    statements.reset()
    # Celery is eager here: the chain and the relay run inside the request, each under its tag.
    with CaptureQueriesContext(connection) as ctx:
        response = api.client.post("/api/v1/orders/", body, format="json")
    counted = statements.local()
    assert response.status_code == 201, response.content
    assert Order.objects.get(number=response.json()["number"]).status == "released"
    assert sum(step["statements"] for step in counted.values()) == len(ctx)
    steps = {tag: step["calls"] for tag, step in counted.items() if tag.startswith("step ")}
    assert steps == {"step payment rule": 1, "step allocation": 1, "step release": 1}
    for tag in ["capture", "task outbox_relay", "consumer notifications.email", *steps]:
        assert counted[tag]["statements"] > 0, tag
    # The chain job carries the status capture committed: between its steps it sends nothing.
    assert (counted["task order_chain"]["calls"], counted["task order_chain"]["statements"]) == (1, 0)
