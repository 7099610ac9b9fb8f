"""Inventory benchmarks (PostgreSQL): reservations, availability, snapshot ingestion.

`python -m bench inventory`. Each figure is printed beside a ceiling measured in the same run
on the same tables:

- reservations/s through `stock_reserve` (a conditional UPDATE plus its ledger row, in one
  transaction) with 1, 2, 4 and 8 parallel connections on one hot SKU and on 10,000 SKUs, next
  to bare conditional UPDATEs/s sent through psycopg (autocommit) on the same rows;
- p50/p99 of a 100-SKU availability query over 500 nodes through the API, next to the bare
  SQL that fetches the same stock rows;
- rows/s applying a 100,000-row snapshot (the Celery job's service, batch by batch), next to a
  bare set-based UPDATE of the same rows through psycopg.

BENCH_SECONDS (default 3) sets how long each reservation run lasts.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import dsn, median, percentile, print_table

SECONDS = float(os.environ.get("BENCH_SECONDS", "2"))
# Ours and the ceiling alternate, ROUNDS times each, and the medians are compared: on a shared
# machine the load drifts, and back-to-back slices see the same conditions.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CONNECTIONS = [1, 2, 4, 8]
RESERVE_SKUS = 10_000
ATP_NODES, ATP_SKUS = 500, 100
SNAPSHOT_ROWS = 100_000
BIG = 1_000_000_000

CEILING_SQL = (
    "UPDATE inventory_stocklevel SET allocated = allocated + 1, updated_at = now() "
    "WHERE id = %s AND on_hand - allocated - safety_stock - 0 >= 1"
)


# --- set-up ------------------------------------------------------------------------------------


def _merchant(code: str) -> Any:
    from oms.models import Merchant

    merchant, _ = Merchant.objects.get_or_create(code=code, defaults={"name": code, "order_prefix": code[:6].upper()})
    return merchant


def _products(merchant: Any, prefix: str, count: int) -> list[Any]:
    from inventory.models import Product

    have = set(Product.objects.filter(merchant=merchant).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [Product(merchant=merchant, sku=f"{prefix}-{i:06d}", name=f"{prefix} {i}") for i in range(count)
         if f"{prefix}-{i:06d}" not in have],
        batch_size=5000,
    )  # fmt: skip
    return list(Product.objects.filter(merchant=merchant, sku__startswith=f"{prefix}-").order_by("sku")[:count])


def _node(code: str, merchant: Any, **extra: Any) -> Any:
    from inventory.models import Node

    node, _ = Node.objects.get_or_create(code=code, defaults={"name": code, "type": "dc", **extra})
    node.merchants.add(merchant)
    return node


def _stock(products: list[Any], nodes: list[Any], on_hand: int) -> None:
    """Make sure each (product, node) has a stock row, its on_hand backed by a ledger receipt."""
    from inventory.models import Movement, StockLevel

    existing = set(StockLevel.objects.filter(product__in=products, node__in=nodes).values_list("product_id", "node_id"))
    new = [
        StockLevel(product=p, node=n, on_hand=on_hand) for n in nodes for p in products if (p.pk, n.pk) not in existing
    ]
    if not new:
        return
    StockLevel.objects.bulk_create(new, batch_size=5000)
    rows = StockLevel.objects.filter(product__in=products, node__in=nodes).exclude(
        pk__in=Movement.objects.values("stock_id")
    )
    Movement.objects.bulk_create(
        [Movement(stock_id=pk, kind="receipt", on_hand_delta=on_hand, actor_kind="system", actor_label="bench")
         for pk in rows.values_list("pk", flat=True)],
        batch_size=5000,
    )  # fmt: skip


# --- parallel runner ---------------------------------------------------------------------------


def _child(work: Callable[[int, float], int], index: int, start_at: float, out: Any) -> None:
    random.seed(index)
    out.put(work(index, start_at))


def _parallel(work: Callable[[int, float], int], processes: int) -> float:
    """Run work(i, start_at) in `processes` forked processes; return operations per second."""
    from django.db import connections

    connections.close_all()  # children must open their own connections
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5
    procs = [ctx.Process(target=_child, args=(work, i, start_at, out)) for i in range(processes)]
    for p in procs:
        p.start()
    total = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    return total / SECONDS


def _reserve_worker(stock_keys: list[tuple[int, int]]) -> Callable[[int, float], int]:
    def work(index: int, start_at: float) -> int:
        from django.db import connection

        from inventory.services import ReserveItem, stock_reserve
        from oms.actors import Actor
        from oms.refs import Ref

        actor = Actor.system("bench")
        connection.ensure_connection()
        time.sleep(max(0.0, start_at - time.time()))
        done, deadline = 0, start_at + SECONDS
        while time.time() < deadline:
            product_id, node_id = random.choice(stock_keys)
            ref = Ref("bench.reservation", uuid.uuid4().hex[:16])
            result = stock_reserve(items=[ReserveItem(product_id, node_id, 1)], reference=ref, actor=actor)
            done += result.ok
        connection.close()
        return done

    return work


def _ceiling_worker(dsn: str, stock_ids: list[int]) -> Callable[[int, float], int]:
    def work(index: int, start_at: float) -> int:
        import psycopg

        with psycopg.connect(dsn, autocommit=True) as conn:
            cur = conn.cursor()
            time.sleep(max(0.0, start_at - time.time()))
            done, deadline = 0, start_at + SECONDS
            while time.time() < deadline:
                cur.execute(CEILING_SQL, [random.choice(stock_ids)])
                done += cur.rowcount
        return done

    return work


def bench_reservations() -> None:
    from inventory.models import StockLevel

    merchant = _merchant("bench-inv")
    node = _node("BENCH-INV-DC", merchant)
    products = _products(merchant, "RSV", RESERVE_SKUS)
    _stock(products, [node], BIG)
    rows = {s.product_id: s.pk for s in StockLevel.objects.filter(node=node, product__in=products)}
    hot = [(products[0].pk, node.pk)]
    spread = [(p.pk, node.pk) for p in products]
    url = dsn()
    table = []
    for label, keys in (("1 hot SKU", hot), (f"{RESERVE_SKUS:,} SKUs", spread)):
        ids = [rows[p] for p, _ in keys]
        for n in CONNECTIONS:
            ours_runs, ceiling_runs = [], []
            for _ in range(ROUNDS):
                before = dict(StockLevel.objects.filter(pk__in=ids).values_list("pk", "allocated"))
                ceiling_runs.append(_parallel(_ceiling_worker(url, ids), n))
                _restore_allocated(before)  # the bare UPDATEs wrote no ledger rows: undo them
                ours_runs.append(_parallel(_reserve_worker(keys), n))
            ours, ceiling = median(ours_runs), median(ceiling_runs)
            table.append([label, n, round(ours), round(ceiling), f"{ours / ceiling:.2f}"])
    print_table(
        f"Reservations per second (median of {ROUNDS} alternating {SECONDS:g} s runs; "
        "ceiling = bare conditional UPDATE, autocommit)",
        ["workload", "connections", "stock_reserve/s", "bare UPDATE/s", "ratio"],
        table,
    )


def _restore_allocated(before: dict[int, int]) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for start in range(0, len(before), 5000):
            chunk = list(before.items())[start : start + 5000]
            cur.execute(
                "UPDATE inventory_stocklevel s SET allocated = v.a FROM (SELECT unnest(%s::bigint[]) id, "
                "unnest(%s::int[]) a) v WHERE s.id = v.id",
                [[k for k, _ in chunk], [a for _, a in chunk]],
            )


# --- availability ------------------------------------------------------------------------------


def bench_availability() -> None:
    from django.db import connection
    from rest_framework.test import APIClient

    from oms.tenancy import api_key_issue

    merchant = _merchant("bench-atp")
    nodes = [
        _node(f"BENCH-ATP-{i:03d}", merchant, latitude=25 + (i % 23), longitude=-120 + (i % 50))
        for i in range(ATP_NODES)
    ]
    products = _products(merchant, "ATP", ATP_SKUS)
    _stock(products, nodes, 50)
    _, raw = api_key_issue(merchant=merchant, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    params = {"sku": [p.sku for p in products], "country": "US", "postal_code": "94105", "channel": "web"}
    from oms.models import Channel

    Channel.objects.get_or_create(merchant=merchant, code="web", defaults={"name": "Web"})
    runs = 40
    api_ms, sql_ms = [], []
    assert client.get("/api/v1/availability/", params).status_code == 200  # warm-up
    product_ids = [p.pk for p in products]
    node_ids = [n.pk for n in nodes]
    for _ in range(runs):
        t = time.perf_counter()
        response = client.get("/api/v1/availability/", params)
        api_ms.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200
        t = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT product_id, node_id, on_hand, allocated, safety_stock FROM inventory_stocklevel "
                "WHERE product_id = ANY(%s) AND node_id = ANY(%s)",
                [product_ids, node_ids],
            )
            fetched = len(cur.fetchall())
        sql_ms.append((time.perf_counter() - t) * 1000)
    print_table(
        f"Availability: {ATP_SKUS} SKUs over {ATP_NODES} nodes ({fetched:,} stock rows), {runs} queries",
        ["path", "p50 ms", "p99 ms"],
        [
            ["GET /api/v1/availability/ (channel + destination)", percentile(api_ms, 50), percentile(api_ms, 99)],
            ["ceiling: bare SELECT of the same rows", percentile(sql_ms, 50), percentile(sql_ms, 99)],
            ["ratio (API / bare SELECT)", f"{percentile(api_ms, 50) / percentile(sql_ms, 50):.1f}x", ""],
        ],
    )


# --- snapshot ------------------------------------------------------------------------------------


def bench_snapshot() -> None:
    import psycopg
    from django.utils import timezone

    from inventory.models import Snapshot, StockLevel
    from inventory.services.sync import snapshot_process, snapshot_submit
    from oms.actors import Actor
    from oms.celery import app

    # Events go to an in-memory broker: this measures ingestion, not a worker's dispatching.
    app.conf.task_always_eager = False
    app.conf.broker_url = "memory://"
    merchant = _merchant("bench-snap")
    node = _node("BENCH-SNAP-DC", merchant)
    products = _products(merchant, "SNP", SNAPSHOT_ROWS)
    _stock(products, [node], 10)
    # An interrupted earlier run would hold this one back (snapshots of a node apply in order).
    Snapshot.objects.filter(node=node).exclude(status="completed").update(status="completed")
    seed = int(time.time())
    counts = [{"sku": p.sku, "on_hand": (seed + i) % 97} for i, p in enumerate(products)]
    data = {"id": f"BENCH-{uuid.uuid4().hex[:10]}", "node": node.code, "as_of": timezone.now(), "counts": counts}
    t = time.perf_counter()
    snapshot = snapshot_submit(merchant=merchant, data=data, actor=Actor.system("bench"), fingerprint=data["id"])
    submit_s = time.perf_counter() - t
    t = time.perf_counter()
    snapshot_process(snapshot_id=snapshot.pk)
    process_s = time.perf_counter() - t
    snapshot = Snapshot.objects.get(pk=snapshot.pk)
    assert snapshot.status == "completed", snapshot.status

    ids = dict(StockLevel.objects.filter(node=node, product__in=products).values_list("product_id", "pk"))
    pairs = [(ids[p.pk], c["on_hand"]) for p, c in zip(products, counts, strict=True)]
    t = time.perf_counter()
    with psycopg.connect(dsn()) as conn, conn.cursor() as cur:
        for start in range(0, len(pairs), 2000):
            chunk = pairs[start : start + 2000]
            cur.execute(
                "UPDATE inventory_stocklevel s SET on_hand = v.c FROM (SELECT unnest(%s::bigint[]) id, "
                "unnest(%s::int[]) c) v WHERE s.id = v.id AND s.allocated <= v.c",
                [[i for i, _ in chunk], [c for _, c in chunk]],
            )
            conn.commit()
    bare_s = time.perf_counter() - t
    rows = len(counts)
    print_table(
        f"Snapshot ingestion: {rows:,} rows ({snapshot.rows_applied:,} changed, {snapshot.rows_unchanged:,} unchanged)",
        ["path", "seconds", "rows/s"],
        [
            ["snapshot_submit (store the body)", submit_s, rows / submit_s],
            ["snapshot job (5,000-row batches, ledger + events)", process_s, rows / process_s],
            ["ceiling: bare batched UPDATE of on_hand via psycopg", bare_s, rows / bare_s],
            ["ratio (job / bare UPDATE)", f"{bare_s / process_s:.2f}", ""],
        ],
    )
    # The bare UPDATE bypassed the ledger: count the rows back to what the ledger says.
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE inventory_stocklevel s SET on_hand = m.total FROM (SELECT stock_id, sum(on_hand_delta) total "
            "FROM inventory_movement WHERE stock_id = ANY(%s) GROUP BY stock_id) m WHERE s.id = m.stock_id",
            [list(ids.values())],
        )


def main() -> None:
    bench_reservations()
    bench_availability()
    bench_snapshot()
