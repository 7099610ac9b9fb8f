"""The whole order pipeline in-process: POST to `released`, Celery eager, over the demo network.

Each worker process posts 3-line orders with a `capture` payment to stocked SKUs of the demo
merchant through the API (Django's test client, no socket). Celery runs eagerly, so every
after-commit job and event consumer (payment rule, allocation, release, e-mail, webhooks) runs
inline in the same process: an order is timed from its POST until it is `released`.

Ceiling: the same processes running bare psycopg transactions of as many single-row INSERTs
as one order costs statements end to end — what the database allows for that much work.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid
from typing import Any

from bench.common import dsn, print_table, vacuum

ORDERS_PER_WORKER = int(os.environ.get("BENCH_ORDERS", "60"))
WORKERS = [int(w) for w in os.environ.get("BENCH_WORKERS", "1,2").split(",")]
# Destinations spread over the demo network (one per order, round robin).
ADDRESSES = [
    ("1 Market St", "San Francisco", "CA", "94105"),
    ("350 5th Ave", "New York", "NY", "10118"),
    ("233 S Wacker Dr", "Chicago", "IL", "60606"),
    ("500 E Cesar Chavez St", "Austin", "TX", "78701"),
    ("400 Broad St", "Seattle", "WA", "98109"),
]


def setup_demo() -> tuple[str, list[tuple[str, str]]]:
    """Seed the demo merchant and network (idempotent), top the DCs up so no order backorders,
    and return the demo API key and the stocked (sku, price) pairs."""
    from django.db import transaction

    from fulfillment.demo import seed_fulfillment
    from fulfillment.routing.demo import seed_routing
    from inventory.demo import OUT_OF_STOCK, PRICES, seed_catalog, seed_network, seed_stock
    from inventory.models import Node, StockLevel
    from inventory.services import stock_receive
    from oms.actors import Actor
    from oms.demo import DEMO_API_KEY, seed_tenancy

    with transaction.atomic():
        merchant = seed_tenancy()
        nodes = seed_network(merchant)
        products = seed_catalog(merchant)
        seed_stock(nodes, products)
        seed_fulfillment(merchant)
        seed_routing(merchant, products)
    actor = Actor.system("bench")
    for stock in StockLevel.objects.filter(node__type=Node.Type.DC, on_hand__lt=100_000).select_related(
        "product", "node"
    ):
        if stock.product.sku not in OUT_OF_STOCK:
            stock_receive(product=stock.product, node=stock.node, quantity=1_000_000, actor=actor, reason="bench")
    skus = sorted(sku for sku in products if sku not in OUT_OF_STOCK)
    return DEMO_API_KEY, [(sku, str(PRICES[sku.split("-")[0]])) for sku in skus]


def order_body(i: int, run: str, skus: list[tuple[str, str]]) -> dict[str, Any]:
    """A 3-line order with a capture payment; e-mail, token and address vary so that fraud
    velocity does not hold the orders."""
    from decimal import Decimal

    line1, city, region, postal_code = ADDRESSES[i % len(ADDRESSES)]
    picked = [skus[(i * 7 + k * 11) % len(skus)] for k in range(3)]
    lines = [{"sku": sku, "quantity": 1, "unit_price": price, "tax": "0.00"} for sku, price in picked]
    total = sum((Decimal(price) for _, price in picked), Decimal("5.00"))
    address = {"first_name": "Ana", "last_name": "Silva", "line1": f"{i} {line1}", "city": city, "region": region,
               "postal_code": postal_code, "country": "US"}  # fmt: skip
    return {
        "channel": "web",
        "external_id": f"P-{run}-{i}",
        "placed_at": "2026-11-20T14:03:00Z",
        "currency": "USD",
        "customer": {"email": f"c{run}{i}@example.com", "first_name": "Ana", "last_name": "Silva"},
        "shipping_address": address,
        "billing_address": address,
        "lines": lines,
        "shipping": {"service_level": "standard", "price": "5.00", "tax": "0.00"},
        "payments": [{"transaction_type": "capture", "gateway": "sandbox", "token": f"tok_visa_ok_{run}{i}",
                      "amount": str(total)}],
        "total": str(total),
    }  # fmt: skip


def _client(raw_key: str) -> Any:
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def _eager() -> None:
    from oms.celery import app

    app.conf.task_always_eager = True


def _post(client: Any, body: dict[str, Any]) -> str:
    # Over HTTPS, as in production (the settings redirect plain HTTP).
    response = client.post("/api/v1/orders/", body, format="json", secure=True)
    assert response.status_code == 201, response.content
    return response.json()["number"]


def _worker(args: tuple[str, list[tuple[str, str]], int, Any]) -> None:
    raw_key, skus, count, queue = args
    from django.db import connection

    from orders.models import Order

    connection.close()  # never share the parent's connection after fork
    _eager()
    client = _client(raw_key)
    run = uuid.uuid4().hex[:8]
    numbers = []
    start = time.perf_counter()
    for i in range(count):
        numbers.append(_post(client, order_body(i, run, skus)))
    elapsed = time.perf_counter() - start
    released = Order.objects.filter(number__in=numbers, status="released").count()
    queue.put((elapsed, released))


def statements_per_order(raw_key: str, skus: list[tuple[str, str]]) -> int:
    """Statements Django sends for one order from its POST to `released` (all inline)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from orders.models import Order

    _eager()
    client = _client(raw_key)
    run = uuid.uuid4().hex[:8]
    _post(client, order_body(0, run, skus))
    with CaptureQueriesContext(connection) as ctx:
        number = _post(client, order_body(1, run, skus))
    status = Order.objects.get(number=number).status
    assert status == "released", f"the measured order ended {status}, not released"
    return len(ctx)


def _ceiling_worker(args: tuple[str, int, int, Any]) -> None:
    url, statements, count, queue = args
    import psycopg

    with psycopg.connect(url) as conn:
        start = time.perf_counter()
        for _ in range(count):
            with conn.transaction():
                for _ in range(statements):
                    conn.execute("INSERT INTO bench_ceiling (payload) VALUES ('{}')")
        queue.put((time.perf_counter() - start, count))


def _parallel(target: Any, args: Any, workers: int) -> tuple[float, int]:
    """Run `workers` processes; return (aggregate items per second, items counted by them)."""
    ctx = mp.get_context("fork")
    queue: Any = ctx.Queue()
    procs = [ctx.Process(target=target, args=((*args, queue),)) for _ in range(workers)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    count = args[-1]
    return workers * count / max(t for t, _ in results), sum(n for _, n in results)


def main() -> None:
    import logging

    from django.db import connection

    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # one line per eager task otherwise

    raw_key, skus = setup_demo()
    statements = statements_per_order(raw_key, skus)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, payload jsonb)")
    connection.close()
    rows = []
    for workers in WORKERS:
        vacuum()  # each configuration starts from the same clean tables, not the last one's dead rows
        ceiling, _ = _parallel(_ceiling_worker, (dsn(), statements, ORDERS_PER_WORKER), workers)
        rate, released = _parallel(_worker, (raw_key, skus, ORDERS_PER_WORKER), workers)
        rows.append((workers, statements, rate, f"{released}/{workers * ORDERS_PER_WORKER}", ceiling,
                     f"{rate / ceiling:.3f}"))  # fmt: skip
    print_table(
        f"Order pipeline in-process, POST to released, Celery eager ({ORDERS_PER_WORKER} 3-line orders per worker)",
        ["processes", "statements/order", "orders/s", "released", f"ceiling tx/s ({statements} INSERTs)", "ratio"],
        rows,
    )
