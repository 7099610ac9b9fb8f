"""KPI benchmark: a year of one merchant's orders (BENCH_KPI_ORDERS, default 1,000,000), seeded
with bulk SQL, and the time the KPI report takes over it.

`BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/oms_kpi_bench python -m bench kpis`

Seeding (once; a re-run reuses the rows when the count matches) writes per order one line, one
routing decision, one fulfilment order (a second one for every tenth order: a split), their
lines and parcels, spread evenly over 2025-12-01 .. 2026-11-30; the last 1 % are still open.
Timed, median of BENCH_ROUNDS (default 3): the year's report from the rollup (what the
dashboard does for finished days), the rollup of the whole year (what the nightly job does,
35 days at a time), the year computed live from the rows (no rollup: the node filter and
SQLite take this path), a month live, and the year live for one node. Ceiling: one bare
sequential aggregate over the merchant's orders (`count(*), sum(total)`), the least any
figure over a year of orders costs.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from collections.abc import Callable
from typing import Any

from bench.common import median, print_table

ORDERS = int(os.environ.get("BENCH_KPI_ORDERS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
FIRST_DAY = dt.date(2025, 12, 1)
DAYS = 365
CODE = "kpibench"


def _insert_select(model: Any, exprs: dict[str, str], source: str, params: list[Any] | None = None) -> int:
    """INSERT INTO model's table SELECT … FROM source: every column not in `exprs` gets its
    default (or NULL), so the seed keeps working when a column with a default is added."""
    from django.db import connection
    from django.db.models import NOT_PROVIDED

    columns, values, literals = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(f'"{field.column}"')
        if field.column in exprs:
            values.append(exprs[field.column].replace("%", "%%"))
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        elif field.default is not NOT_PROVIDED:
            default = field.get_default()
            literal = json.dumps(default) if field.get_internal_type() == "JSONField" else default
            values.append("%s::jsonb" if field.get_internal_type() == "JSONField" else "%s")
            literals.append(literal)
        elif field.null:
            values.append("NULL")
        elif field.blank and field.get_internal_type() in ("CharField", "TextField", "SlugField", "EmailField"):
            values.append("''")
        else:
            raise RuntimeError(f"{model.__name__}.{field.name}: no value for a NOT NULL column")
    source = source.replace("%", "%%")
    sql = f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) SELECT {", ".join(values)} FROM {source}'
    with connection.cursor() as cursor:
        # Literal defaults come first in the statement (the SELECT list), then the source's.
        cursor.execute(sql, [*literals, *(params or [])])
        return cursor.rowcount


def _seed() -> tuple[int, int]:
    """Return (merchant id, node id of the second node), seeding when needed."""
    from django.db import connection, transaction

    from fulfillment.models import (
        Carrier,
        CarrierService,
        FulfillmentOrder,
        FulfillmentOrderLine,
        RoutingDecision,
        Shipment,
    )
    from inventory.models import Node, Product
    from orders.models import Customer, Order, OrderLine
    from tests.factories import ChannelFactory, CustomerFactory, MerchantFactory, NodeFactory, ProductFactory

    merchant = MerchantFactory(code=CODE, order_prefix="KB")
    nodes = [Node.objects.filter(code=f"KB-N{n}").first() or NodeFactory(code=f"KB-N{n}", merchants=[merchant])
             for n in (1, 2, 3)]  # fmt: skip
    seeded = Order.objects.filter(merchant=merchant).count()
    if seeded == ORDERS:
        return merchant.pk, nodes[1].pk
    if seeded:
        raise SystemExit(f"The bench database holds {seeded:,} orders, not {ORDERS:,}: drop it to seed again.")
    print(f"seeding {ORDERS:,} orders (bulk SQL) ...", flush=True)
    started = time.perf_counter()
    web = ChannelFactory(merchant=merchant, code="web")
    market = ChannelFactory(merchant=merchant, code="marketplace", kind="marketplace")
    customer = Customer.objects.filter(merchant=merchant).first() or CustomerFactory(merchant=merchant)
    product = Product.objects.filter(merchant=merchant).first() or ProductFactory(merchant=merchant)
    carrier, _ = Carrier.objects.get_or_create(
        code="kbcar", defaults={"name": "KB", "tracking_prefix": "KB", "webhook_secret": "x"}
    )
    service, _ = CarrierService.objects.get_or_create(carrier=carrier, code="ground", defaults={"name": "Ground"})
    n1, n2, n3 = (n.pk for n in nodes)
    step = DAYS * 86400 / ORDERS
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("DROP TABLE IF EXISTS kb_i")
        cursor.execute(
            "CREATE TEMP TABLE kb_i ON COMMIT DROP AS SELECT i, %s::timestamptz + make_interval(secs => i * %s) AS at "
            "FROM generate_series(1, %s) i",
            [dt.datetime.combine(FIRST_DAY, dt.time.min, tzinfo=dt.UTC), step, ORDERS],
        )
        open_after = int(ORDERS * 0.99)
        _insert_select(Order, {
            "merchant_id": str(merchant.pk), "channel_id": f"CASE WHEN i % 3 = 0 THEN {market.pk} ELSE {web.pk} END",
            "number": "'KB-' || i", "external_id": "i::text",
            "status": f"CASE WHEN i > {open_after} THEN 'released' ELSE 'delivered' END",
            "placed_at": "at", "currency": "'USD'", "customer_id": str(customer.pk), "email": "'kb@example.com'",
            "service_level": "'standard'", "total": "(20 + i % 80)::numeric",
            "promise_date": "(at + interval '4 days')::date",
            "request_hash": "'bench'", "created_at": "at", "updated_at": "at",
        }, "kb_i")  # fmt: skip
        cursor.execute(
            "CREATE TEMP TABLE kb_o ON COMMIT DROP AS SELECT o.id, k.i, k.at FROM orders_order o "
            "JOIN kb_i k ON o.external_id = k.i::text WHERE o.merchant_id = %s",
            [merchant.pk],
        )
        cursor.execute("CREATE INDEX ON kb_o (id)")
        units = "CASE WHEN i % 10 = 0 THEN 2 ELSE 1 + i % 3 END"  # a split order ships one unit from each node
        _insert_select(OrderLine, {
            "order_id": "id", "position": "1", "product_id": str(product.pk), "sku": f"'{product.sku}'",
            "name": "'bench'", "unit_price": "10", "quantity": units,
            "qty_shipped": f"CASE WHEN i > {open_after} THEN 0 ELSE {units} END",
            "qty_delivered": f"CASE WHEN i > {open_after} THEN 0 ELSE {units} END",
        }, "kb_o")  # fmt: skip
        _insert_select(RoutingDecision, {
            "order_id": "id", "trigger": "'ready'", "policy_label": "'bench'", "explanation": "''",
            "outcome": "CASE WHEN i % 20 = 0 THEN 'partially_allocated' ELSE 'allocated' END", "created_at": "at",
        }, "kb_o")  # fmt: skip
        # Fulfilment orders: every order at N1 or N3, every tenth also at N2 (a split).
        cursor.execute(
            "CREATE TEMP TABLE kb_fo ON COMMIT DROP AS "
            f"SELECT o.id AS order_id, o.i, o.at, CASE WHEN o.i % 2 = 0 THEN {n1} ELSE {n3} END AS node_id, 1 AS part "
            "FROM kb_o o UNION ALL "
            f"SELECT o.id, o.i, o.at, {n2}, 2 FROM kb_o o WHERE o.i % 10 = 0"
        )
        cursor.execute(
            "ALTER TABLE kb_fo ADD COLUMN decision_id bigint, ADD COLUMN line_id bigint, "
            "ADD COLUMN ship_at timestamptz, ADD COLUMN open boolean"
        )
        cursor.execute(
            "UPDATE kb_fo f SET decision_id = d.id, line_id = l.id, open = f.i > %s, "
            "ship_at = f.at + make_interval(mins => (360 + (f.i::bigint * 7919) %% 3960 + f.part * 180)::int) "
            "FROM fulfillment_routingdecision d, orders_orderline l "
            "WHERE d.order_id = f.order_id AND l.order_id = f.order_id",
            [open_after],
        )
        _insert_select(FulfillmentOrder, {
            "order_id": "order_id", "node_id": "node_id", "decision_id": "decision_id",
            "status": "CASE WHEN open THEN 'released' ELSE 'delivered' END",
            "created_at": "at", "updated_at": "at", "released_at": "at + interval '1 hour'",
            "packed_at": "CASE WHEN open THEN NULL ELSE ship_at - interval '1 hour' END",
            "shipped_at": "CASE WHEN open THEN NULL ELSE ship_at END", "pack_corrected": "i % 150 = 0",
        }, "kb_fo")  # fmt: skip
        cursor.execute(
            "CREATE TEMP TABLE kb_f ON COMMIT DROP AS SELECT f.id, k.* FROM fulfillment_fulfillmentorder f "
            "JOIN kb_fo k ON k.order_id = f.order_id AND k.node_id = f.node_id"
        )
        share = "CASE WHEN i % 10 = 0 THEN 1 ELSE 1 + i % 3 END"
        _insert_select(FulfillmentOrderLine, {
            "fulfillment_order_id": "id", "order_line_id": "line_id", "quantity": share,
            "qty_picked": f"CASE WHEN open THEN 0 ELSE {share} END",
            "qty_shipped": f"CASE WHEN open THEN 0 ELSE {share} END",
        }, "kb_f")  # fmt: skip
        _insert_select(Shipment, {
            "fulfillment_order_id": "id", "order_id": "order_id", "carrier_id": str(carrier.pk),
            "service_id": str(service.pk), "tracking_number": "'KB' || id", "status": "'delivered'",
            "weight_kg": "1", "billable_weight_kg": "1", "rate": "(5 + i % 7)::numeric", "shipped_at": "ship_at",
            "promise_date": "(at + interval '4 days')::date",
            "delivered_at": "ship_at + make_interval(days => 1 + (i % 7) / 3)",
        }, "kb_f WHERE NOT open")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded in {time.perf_counter() - started:,.0f} s", flush=True)
    return merchant.pk, n2


def _timed(fn: Callable[[], Any]) -> float:
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return median(times)


def main() -> None:
    from django.db import connection

    from reports.kpis.filters import KpiFilters
    from reports.kpis.report import kpi_report
    from reports.models import KpiRollupRun
    from reports.rollup import kpi_days_rollup

    merchant_id, node_id = _seed()
    last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
    year = KpiFilters(FIRST_DAY, last, merchant_id=merchant_id)
    month = KpiFilters(dt.date(2026, 6, 1), dt.date(2026, 6, 30), merchant_id=merchant_id)

    def ceiling() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), sum(total) FROM orders_order WHERE merchant_id = %s", [merchant_id])
            cursor.fetchall()

    def live(filters: KpiFilters) -> Callable[[], Any]:
        def run() -> Any:
            KpiRollupRun.objects.all().delete()
            return kpi_report(filters=filters)

        return run

    def rollup(filters: KpiFilters) -> None:
        kpi_days_rollup(since=filters.since, until=filters.until)
        with connection.cursor() as cursor:  # as autovacuum would soon after the nightly job
            cursor.execute("ANALYZE reports_kpiday, reports_kpicyclebucket, reports_kpirolluprun")

    bare = _timed(ceiling)
    rows = []
    for label, fn in [
        ("year, live from the rows", live(year)),
        ("month, live from the rows", live(month)),
        ("year at one node, live", live(KpiFilters(year.since, year.until, merchant_id, node_id=node_id))),
        ("rollup of the whole year", lambda: rollup(year)),
        ("year, from the rollup", lambda: kpi_report(filters=year)),
    ]:
        seconds = _timed(fn)
        rows.append([label, seconds, bare, bare / seconds])
    report = kpi_report(filters=year)
    print_table(
        f"KPI report over {ORDERS:,} orders of one merchant (median of {ROUNDS}; ceiling: one bare aggregate "
        "over its orders)",
        ["query", "seconds", "ceiling s", "ratio"],
        rows,
    )
    print_table("figures (year)", ["KPI", "value"], [[f.label, f.value] for f in report.figures])
