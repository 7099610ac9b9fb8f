"""Statements per order on the pipeline, as CaptureQueriesContext sees them on PostgreSQL
(BEGIN, COMMIT and SAVEPOINTs included: the test does not wrap a transaction).

A 3-line order with a `capture` payment, stock at one DC, the confirmation e-mail on and no
webhook subscription. The relay's own statements per batch (BEGIN, claim, cache versions, the
dispatched UPDATE, COMMIT) are divided by the batch size, 50, as a relay under load pays them.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory.models import Node
from oms import outbox
from oms.caches import caches_reset
from orders.models import Order
from orders.tasks import order_chain
from tests import payloads
from tests.factories import NodeFactory, ProductFactory, StockLevelFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BATCH = 50
# What the relay itself sends per batch, whatever the consumers do.
RELAY_OWN = ("BEGIN", "COMMIT", 'FROM "oms_outboxevent"', 'FROM "oms_cacheversion"', 'UPDATE "oms_outboxevent"')


def three_lines(api, external_id: str) -> dict:
    prices = {"TSHIRT-RED-M": "19.99", "TSHIRT-BLUE-M": "24.00", "MUG-WHITE": "12.50"}
    total = sum((Decimal(p) for p in prices.values()), Decimal("5.00"))
    return payloads.order(
        external_id=external_id,
        lines=[{"sku": sku, "quantity": 1, "unit_price": price, "tax": "0.00"} for sku, price in prices.items()],
        payment={"transaction_type": "capture", "gateway": "sandbox", "token": "tok_visa_ok", "amount": str(total)},
        total=str(total),
    )


@pytest.fixture
def stocked(api):
    ProductFactory(merchant=api.merchant, sku="MUG-WHITE", name="White mug")
    dc = NodeFactory(code="ACME-DC", type=Node.Type.DC, ships_to=["US"], merchants=[api.merchant])
    for product in api.merchant.products.all():
        StockLevelFactory(product=product, node=dc, on_hand=100)
    return api


def measure(api, monkeypatch, external_id: str) -> dict[str, float]:
    """Capture, the chain and the relay of one order, each counted on its own."""
    sent = []
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: sent.append((task, args)) or True)
    with CaptureQueriesContext(connection) as capture:
        response = api.client.post("/api/v1/orders/", three_lines(api, external_id), format="json")
    assert response.status_code == 201, response.content
    order = Order.objects.get(number=response.json()["number"])
    # The chain as capture's job runs it (with the status capture committed the order in).
    [args] = [args for task, args in sent if task is order_chain]
    with CaptureQueriesContext(connection) as chain:
        order_chain(*args)
    assert Order.objects.get(pk=order.pk).status == "released"
    with CaptureQueriesContext(connection) as relay:
        outbox.relay_batch(size=BATCH)
    own = [q for q in relay.captured_queries if any(marker in q["sql"] for marker in RELAY_OWN)]
    assert len(own) == 5, [q["sql"][:80] for q in own]
    consumers = len(relay) - len(own)
    return {
        "capture": len(capture),
        "chain": len(chain),
        "consumers": consumers,
        "pipeline": len(chain) + consumers + len(own) / BATCH,
    }


def test_the_pipeline_of_a_3_line_order_costs_a_bounded_number_of_statements(stocked, monkeypatch, settings):
    caches_reset()  # what a fresh process would load once: the first order pays for it
    # Outside the relay (which checks once per batch), the caches check their versions at most
    # once a second: keep that clock-dependent query out of the pinned counts.
    settings.OMS_CACHE_CHECK_SECONDS = 3600
    measure(stocked, monkeypatch, "WARM-1")
    counts = measure(stocked, monkeypatch, "COUNT-1")
    # Payment rule, allocation, release and the event consumers together: 29.1 (before this
    # issue about 200 on the same order). The chain: payment rule 6, allocation 12, release 7
    # (a transition's timeline row and its events are one statement; the reservation's ledger
    # rows are in its UPDATE; the job carries the status capture committed, so no first read).
    # The consumers: the confirmation e-mail's savepoint, its order-with-lines read and its row.
    assert counts["pipeline"] <= 29.1, counts
    assert counts["chain"] <= 25, counts
    assert counts["consumers"] <= 4, counts
    assert counts["capture"] <= 15, counts


def test_a_statement_run_twice_on_a_connection_is_prepared(stocked, monkeypatch):
    """On PostgreSQL a statement a connection has run twice (DB_PREPARE_THRESHOLD) is prepared,
    here the order lock every step of the chain takes; DB_PREPARE_THRESHOLD=0 makes it fail."""
    measure(stocked, monkeypatch, "PREPARE-1")
    with transaction.atomic():  # one connection throughout (the pool may hand out another after)
        order = Order.objects.select_for_update().get(external_id="PREPARE-1")
        for _ in range(3):  # run twice, then from the prepared statement
            Order.objects.select_for_update().get(pk=order.pk)
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "orders_order" WHERE "orders_order"."id" = $1' in sql for sql in prepared), prepared
