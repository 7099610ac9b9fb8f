"""Every statement of a capture is served by an index, and none reads more rows as the tables
grow: checked with PostgreSQL's own plans (EXPLAIN) against a merchant with 20,000 orders in
the fraud velocity window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from oms.caches import caches_reset
from orders.fraud.models import FraudSettings
from orders.fraud.rules import facts
from orders.models import Order, Payment
from tests.orders.test_capture_queries import merchant, order_body, post  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

BULK = 20_000
# The version check reads every cache's version (one row per cache, a dozen) by design.
WHOLE_TABLE_BY_DESIGN = {"oms_cacheversion"}
VELOCITY_INDEXES = {"order_velocity_email", "order_velocity_address", "payment_token_recent"}
GROWING = {"orders_order", "orders_payment", "orders_customer"}


def _clone(model: Any, overrides: dict[str, str], source: str) -> str:
    """INSERT ... SELECT copying a row (alias t) of `model` for each row of `source`, with some
    columns computed instead."""
    columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    values = ", ".join(overrides.get(c, f't."{c}"') for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    return f"INSERT INTO {model._meta.db_table} ({names}) SELECT {values} FROM {model._meta.db_table} t, {source} "


def _fill(api: Any, first: Order) -> None:
    """BULK orders of the merchant, copies of `first` placed within the last 55 minutes (the
    velocity window is 60), each with its own customer, card and street but for two that share
    them with the order to be counted; then ANALYZE, so that the planner sees the real table."""
    m = api.merchant.pk
    shared = "i < 2"
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders_customer (merchant_id, email, phone, first_name, last_name, created_at) "
            "SELECT %s, 'bulk' || i || '@example.com', '', '', '', now() FROM generate_series(0, %s - 1) i",
            [m, BULK],
        )
        order = {
            "number": "'BULK-' || i",
            "external_id": "'BULK-' || i",
            "email": f"CASE WHEN {shared} THEN 'ana@example.com' ELSE 'bulk' || i || '@example.com' END",
            "customer_id": "(SELECT c.id FROM orders_customer c WHERE c.merchant_id = t.merchant_id "
            "AND c.email = 'bulk' || i || '@example.com')",
            "shipping_address": f"jsonb_build_object('line1', CASE WHEN {shared} THEN '1 Market St' "
            "ELSE i || ' Bulk Ave' END, 'postal_code', '94105', 'country', 'US')",
            "created_at": "now() - random() * interval '55 minutes'",
        }
        cursor.execute(_clone(Order, order, "generate_series(0, %s - 1) i WHERE t.id = %s"), [BULK, first.pk])
        payment = {
            "order_id": "o.id",
            "token": "CASE WHEN o.number IN ('BULK-0', 'BULK-1') THEN t.token ELSE 'tok_bulk_' || o.id END",
            "created_at": "o.created_at",
        }
        template = first.payments.get().pk
        cursor.execute(
            _clone(Payment, payment, "orders_order o WHERE t.id = %s AND o.number LIKE 'BULK-%%'"), [template]
        )
        cursor.execute("ANALYZE orders_order, orders_payment, orders_customer")
    assert Order.objects.filter(merchant_id=m).count() == BULK + 1


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(sql: str, *, analyze: bool = False, seqscan: bool = True) -> list[dict[str, Any]]:
    """The plan's nodes; with `analyze`, run in a transaction that is rolled back."""
    with transaction.atomic(), connection.cursor() as cursor:
        if not seqscan:
            cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN ({'ANALYZE, ' if analyze else ''}FORMAT JSON) {sql}")
        (document,) = cursor.fetchone()
        transaction.set_rollback(True)
    return list(_nodes(document[0]["Plan"]))


def _reads(nodes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(node type, table or index) of every node that reads a table or an index."""
    return [
        (n["Node Type"], n.get("Index Name") or n["Relation Name"])
        for n in nodes
        if n.keys() & {"Relation Name", "Index Name"}
    ]


def _rows_read(nodes: list[dict[str, Any]]) -> float:
    """Table rows the statement fetched, those its filters then dropped included."""
    return sum(
        n["Actual Rows"] * n["Actual Loops"] + n.get("Rows Removed by Filter", 0)
        + n.get("Rows Removed by Index Recheck", 0)
        for n in nodes if "Relation Name" in n
    )  # fmt: skip


@pytest.fixture
def captured(merchant):  # noqa: F811
    """The statements of one capture, on the full table, by a process that has cached nothing
    yet (so that its cache loads are among them), for a returning customer whose history the
    screening reads (first-order rule on)."""
    FraudSettings.objects.filter(merchant=merchant.merchant).update(first_order_value=10)
    first = post(merchant, order_body("FIRST"))
    assert first.status_code == 201
    _fill(merchant, Order.objects.get(number=first.json()["number"]))
    caches_reset()
    with CaptureQueriesContext(connection) as ctx:
        response = post(merchant, order_body("PLANNED", lines=3))
    assert response.status_code == 201, response.json()
    sql = [q["sql"].strip() for q in ctx.captured_queries]
    return [s for s in sql if s.split()[0] not in ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")]


def test_every_statement_of_a_capture_is_served_by_an_index_and_reads_a_bounded_number_of_rows(captured):
    """Three looks at each statement. With sequential scans priced out, a table no index serves
    still shows a Seq Scan. Left to itself on the full tables, the planner reads the growing ones
    by an index. Run (reads only; rolled back), no statement fetches more than a few rows while
    the merchant has 20,000 orders in the velocity window."""
    assert len(captured) >= 10
    for sql in captured:
        forced = [r for r in _reads(_plan(sql, seqscan=False)) if r[1] not in WHOLE_TABLE_BY_DESIGN]
        assert all(kind != "Seq Scan" for kind, _ in forced), (forced, sql[:300])
        chosen = _reads(_plan(sql))
        assert not [r for r in chosen if r[0] == "Seq Scan" and r[1] in GROWING], (chosen, sql[:300])
        if sql.startswith(("SELECT", "UPDATE")) and "oms_cacheversion" not in sql:
            assert _rows_read(_plan(sql, analyze=True)) <= 25, sql[:300]


def test_the_fraud_facts_count_through_the_velocity_indexes(captured):
    """The velocity counts go by e-mail, card and street, each bounded by the window, and the
    customer's history by the customer: the merchant's window is never aggregated."""
    (facts_sql,) = [sql for sql in captured if sql.startswith("SELECT (SELECT COUNT(*)")]
    used = {name for _, name in _reads(_plan(facts_sql, analyze=True))}
    assert used >= VELOCITY_INDEXES, used
    assert any(name.startswith("orders_order_customer_id") for name in used), used


def test_the_fraud_facts_are_planned_for_each_runs_values_never_as_a_prepared_statement(captured, merchant, settings):  # noqa: F811
    """Sent as parameters, the facts statement would be prepared after its second run, and
    PostgreSQL may then settle on a generic plan, which matches no velocity index to a
    parameter: it read the merchant's whole window, a cost growing with the orders of the hour.
    Sent with its values in its text, it is planned for them on every run and never prepared."""
    if not settings.DB_PREPARE_THRESHOLD:
        pytest.skip("DB_PREPARE_THRESHOLD=0: this deployment prepares no statement")
    order = Order.objects.get(external_id="PLANNED")
    fraud = FraudSettings.objects.get(merchant=merchant.merchant)
    contrast = "SELECT number FROM orders_order WHERE id = %s"  # sent with a parameter
    with transaction.atomic(), connection.cursor() as cursor:  # one connection: its own statements
        runs = [facts(order, fraud) for _ in range(6)]
        for _ in range(3):
            cursor.execute(contrast, [order.pk])
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [statement for (statement,) in cursor.fetchall()]
    assert runs[0].recent["e-mail address"] > 1, "the two bulk orders sharing the e-mail are counted"
    assert all(run == runs[0] for run in runs)
    assert contrast.replace("%s", "$1") in prepared, "the check looks where the statements are prepared"
    assert not [statement for statement in prepared if "COUNT(*)" in statement]
