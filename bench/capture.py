"""Order capture throughput through the whole API stack, beside a same-run ceiling.

Each worker process posts orders with Django's test client (authentication, validation,
services, response rendering; no network) to PostgreSQL. Two modes:

- capture: the outbox publishes to an in-memory broker, so only the capture itself is timed;
- capture + pipeline: Celery runs eagerly, so every after-commit job (payment, allocation,
  e-mail and webhook consumers, whatever is registered) runs inline in the same process.

Ceiling: the same processes running bare psycopg transactions of as many single-row INSERTs
as one capture issues queries — what the database allows for that many statements per order.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid
from typing import Any

from bench.common import print_table

ORDERS_PER_WORKER = int(os.environ.get("BENCH_ORDERS", "300"))


def _body(i: int, run: str) -> dict[str, Any]:
    return {
        "channel": "web",
        "external_id": f"B-{run}-{i}",
        "placed_at": "2026-11-20T14:03:00Z",
        "currency": "USD",
        "customer": {"email": f"c{i % 500}@example.com", "first_name": "Ana", "last_name": "Silva"},
        "shipping_address": {"first_name": "Ana", "last_name": "Silva", "line1": "1 Market St",
                             "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US"},
        "lines": [{"sku": f"BENCH-{(i + k) % 50:02d}", "quantity": 1, "unit_price": "10.00"} for k in range(2)],
        "shipping": {"service_level": "standard", "price": "5.00", "tax": "0.00"},
        "payment": {"transaction_type": "capture", "gateway": "sandbox", "token": f"tok_visa_ok_{i}",
                    "amount": "25.00"},
        "total": "25.00",
    }  # fmt: skip


def _setup() -> str:
    from inventory.models import Product
    from oms.models import Channel, Merchant
    from oms.tenancy import api_key_issue

    merchant, _ = Merchant.objects.get_or_create(code="bench", defaults={"name": "Bench", "order_prefix": "B"})
    Channel.objects.get_or_create(merchant=merchant, code="web", defaults={"name": "Web"})
    for n in range(50):
        Product.objects.get_or_create(merchant=merchant, sku=f"BENCH-{n:02d}", defaults={"name": f"Bench {n}"})
    return api_key_issue(merchant=merchant, name="bench")[1]


def _capture_worker(args: tuple[str, str, bool, int, Any]) -> None:
    raw_key, run, eager, count, queue = args
    from django.db import connection

    from oms.celery import app

    connection.close()  # never share the parent's connection after fork
    app.conf.task_always_eager = eager
    if not eager:
        os.environ["CELERY_BROKER_URL"] = "memory://"
        app.conf.broker_url = "memory://"
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    # Over HTTPS, as in production (the settings redirect plain HTTP).
    start = time.perf_counter()
    for i in range(count):
        response = client.post("/api/v1/orders/", _body(i, run), format="json", secure=True)
        assert response.status_code == 201, response.content
    queue.put(time.perf_counter() - start)


def _queries_per_capture(raw_key: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from rest_framework.test import APIClient

    from oms.celery import app

    app.conf.task_always_eager = False
    os.environ["CELERY_BROKER_URL"] = "memory://"
    app.conf.broker_url = "memory://"
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    run = uuid.uuid4().hex[:8]
    client.post("/api/v1/orders/", _body(0, run), format="json", secure=True)
    with CaptureQueriesContext(connection) as ctx:
        client.post("/api/v1/orders/", _body(1, run), format="json", secure=True)
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
        queue.put(time.perf_counter() - start)


def _parallel(target: Any, args: list[Any], workers: int) -> float:
    """Run `workers` processes; return the aggregate rate (items per second)."""
    queue: Any = mp.get_context("fork").Queue()
    procs = [mp.get_context("fork").Process(target=target, args=((*a, queue),)) for a in args[:workers]]
    for p in procs:
        p.start()
    times = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    count = args[0][-1]
    return workers * count / max(times)


def main() -> None:
    from django.conf import settings
    from django.db import connection

    raw_key = _setup()
    statements = _queries_per_capture(raw_key)
    url = settings.DATABASES["default"]
    dsn = f"postgresql://{url['USER']}@{url['HOST']}:{url['PORT']}/{url['NAME']}"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, payload jsonb)")
    connection.close()
    rows = []
    for workers in (1, 2):
        ceiling = _parallel(_ceiling_worker, [(dsn, statements, ORDERS_PER_WORKER)] * workers, workers)
        for mode, eager in (("capture", False), ("capture + pipeline inline", True)):
            runs = [(raw_key, uuid.uuid4().hex[:8], eager, ORDERS_PER_WORKER) for _ in range(workers)]
            rate = _parallel(_capture_worker, runs, workers)
            rows.append((mode, workers, statements, rate, ceiling, f"{rate / ceiling:.2f}"))
    print_table(
        f"Order capture through the API on PostgreSQL ({ORDERS_PER_WORKER} orders per worker, 2 lines each)",
        ["mode", "workers", "queries/order", "orders/s", f"ceiling tx/s ({statements} INSERTs)", "ratio"],
        rows,
    )
