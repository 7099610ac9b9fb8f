"""The order pipeline over HTTP, on a real deployment on this machine: POST to `released`.

For each configuration (1 and 2 gunicorn web processes × 1 and 2 Celery worker processes) the
bench starts a deployment (bench/stack.py: gunicorn with oms/gunicorn_conf.py, a Celery worker
and beat on Redis, the bench's PostgreSQL database) and a load client (bench/http_load.py:
BENCH_HTTP_CLIENTS threads) that posts 3-line orders with a `capture` payment to stocked SKUs of
the demo network (the DCs topped up, so nothing backorders), the same bodies as the in-process
bench. It measures:

- the ceiling, on the same deployment and client: a DRF endpoint doing one INSERT (bench/ceiling.py,
  served only by bench.settings' URLconf), posted the same bodies;
- orders captured per second and the POST's p50/p99;
- orders reaching `released` per second (first POST to last release) and p50/p99 from each POST
  to its order's `release` timeline row, read from the database;
- statements and time per order by step, counted in every web and worker process
  (bench/statements.py);
- the CPU each part used per order (web, worker, beat, Redis, PostgreSQL's backends, the client,
  and what the rest of the machine used meanwhile), from /proc;
- with BENCH_PROFILE_DIR, a cProfile of every request and task, summed by area (bench/profiling.py;
  profiling slows the processes, so run it apart from the figures).

Only the public API and database reads drive and observe the orders.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import percentile, print_table, vacuum

ORDERS = int(os.environ.get("BENCH_HTTP_ORDERS", "200"))
CEILING_REQUESTS = int(os.environ.get("BENCH_CEILING_REQUESTS", "400"))
CLIENTS = int(os.environ.get("BENCH_HTTP_CLIENTS", "4"))
WEB = [int(n) for n in os.environ.get("BENCH_WEB", "1,2").split(",")]
WORKERS = [int(n) for n in os.environ.get("BENCH_WORKER_PROCESSES", "1,2").split(",")]
# Give up waiting for releases when none came for this long.
IDLE_SECONDS = 30
# Steps in pipeline order; other tags (periodic jobs, other consumers) follow by name.
STEP_ORDER = [
    "capture",
    "task order_chain",
    "step payment rule",
    "step allocation",
    "step release",
    "task outbox_relay",
]


def _database_url() -> str:
    return os.environ["DATABASE_URL"]  # set by bench.common.setup_django to the bench database


def _bodies(count: int, skus: list[tuple[str, str]]) -> list[bytes]:
    from bench.pipeline_inline import order_body

    run = uuid.uuid4().hex[:8]
    return [json.dumps(order_body(i, run, skus)).encode() for i in range(count)]


def _released_at(numbers: list[str], merchant_id: int) -> dict[str, float]:
    """Wait until every order is released (or none was for IDLE_SECONDS); return when each was."""
    from django.db.models import Min

    from orders.models import OrderEvent

    released: dict[str, float] = {}
    last_progress = time.monotonic()
    while len(released) < len(numbers) and time.monotonic() - last_progress < IDLE_SECONDS:
        pending = [n for n in numbers if n not in released]
        rows = (
            OrderEvent.objects.filter(order__merchant_id=merchant_id, order__number__in=pending, to_status="released")
            .values_list("order__number")
            .annotate(at=Min("created_at"))
        )
        found = {number: at.timestamp() for number, at in rows}
        if found:
            released.update(found)
            last_progress = time.monotonic()
        else:
            time.sleep(0.5)
    return released


def _outbox_drained(timeout: float = 60) -> bool:
    """Wait until the relay has dispatched every event (the consumers' counts are then in)."""
    from oms.models import OutboxEvent

    deadline = time.monotonic() + timeout
    while OutboxEvent.objects.filter(dispatched_at__isnull=True).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    time.sleep(1.0)  # a task flushes its counts just after its transaction commits
    return True


def _statuses(numbers: list[str], merchant_id: int) -> str:
    from django.db.models import Count

    from orders.models import Order

    rows = (
        Order.objects.filter(merchant_id=merchant_id, number__in=numbers)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by("status")
    )
    return ", ".join(f"{status} {n}" for status, n in rows)


def _backend_pids() -> list[int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return [pid for (pid,) in cursor.fetchall()]


def _run_config(web: int, workers: int, raw_key: str, skus: list[tuple[str, str]], merchant_id: int) -> dict[str, Any]:
    import redis
    from django.db import connection

    from bench import statements
    from bench.http_load import post_all
    from bench.stack import cpu_snapshot, cpu_used, deployment

    auth = {"Authorization": f"Bearer {raw_key}"}
    logs = Path(tempfile.mkdtemp(prefix=f"bench-http-{web}x{workers}-"))
    vacuum()  # each configuration starts from clean tables, not the last one's dead rows
    connection.close()
    broker = os.environ.get("BENCH_BROKER_URL")  # default: a private redis-server (bench/stack.py)
    with deployment(web=web, workers=workers, database_url=_database_url(), broker_url=broker, logs=logs) as dep:
        stats = redis.Redis.from_url(dep.broker_url)
        orders_url, ceiling_url = f"{dep.base_url}/api/v1/orders/", f"{dep.base_url}/bench/ceiling/"
        # Warm-up: every web process and worker has served both kinds before anything is timed.
        warm = post_all(orders_url, _bodies(4 * web, skus), clients=CLIENTS, headers=auth)
        post_all(ceiling_url, _bodies(4 * web, skus), clients=CLIENTS)
        _released_at([n for n in warm.numbers if n], merchant_id)
        _outbox_drained()
        stats.delete(statements.STATS_KEY)
        ceiling = post_all(ceiling_url, _bodies(CEILING_REQUESTS, skus), clients=CLIENTS)
        time.sleep(0.5)
        ceiling_steps = statements.read(stats)
        stats.delete(statements.STATS_KEY)
        load_before = os.getloadavg()
        bodies = _bodies(ORDERS, skus)
        cpu_before = cpu_snapshot(dep, _backend_pids())
        orders = post_all(orders_url, bodies, clients=CLIENTS, headers=auth)
        numbers = [n for n in orders.numbers if n]
        released = _released_at(numbers, merchant_id)
        drained = _outbox_drained()
        cpu = cpu_used(cpu_before, cpu_snapshot(dep, _backend_pids()))
        load_after = os.getloadavg()
        steps = statements.read(stats)
        stats.delete(statements.STATS_KEY)
        connection.close()
    sent = {n: t for n, t in zip(orders.numbers, orders.sent_at, strict=True) if n}
    to_release = [released[n] - sent[n] for n in released]
    window = max(released.values(), default=0) - min(orders.sent_at)
    return {
        "web": web,
        "workers": workers,
        "ceiling": ceiling,
        "ceiling_steps": ceiling_steps,
        "orders": orders,
        "released": len(released),
        "released_per_s": len(released) / window if released else 0.0,
        "to_release": to_release,
        "not_released": _statuses([n for n in numbers if n not in released], merchant_id),
        "drained": drained,
        "steps": steps,
        "cpu": cpu,
        "load": (load_before, load_after),
        "logs": logs,
    }


def _ms(seconds: float) -> float:
    return seconds * 1000


def _throughput_rows(results: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    rows = []
    for r in results:
        ceiling, orders = r["ceiling"], r["orders"]
        ceiling_rate = ceiling.ok / ceiling.seconds
        captured_rate = orders.ok / orders.seconds
        lat = orders.ok_latencies()
        rows.append((
            r["web"], r["workers"], ceiling_rate, _ms(percentile(ceiling.ok_latencies(), 50)),
            _ms(percentile(ceiling.ok_latencies(), 99)), captured_rate, _ms(percentile(lat, 50)),
            _ms(percentile(lat, 99)), f"{captured_rate / ceiling_rate:.3f}", f"{r['released']}/{orders.ok}",
            r["released_per_s"], _ms(percentile(r["to_release"], 50)), _ms(percentile(r["to_release"], 99)),
            f"{r['released_per_s'] / ceiling_rate:.3f}",
        ))  # fmt: skip
    return rows


def _ordered_tags(results: list[dict[str, Any]]) -> list[str]:
    tags = {tag for r in results for tag in r["steps"]}
    known = [t for t in STEP_ORDER if t in tags]
    consumers = sorted(t for t in tags if t.startswith("consumer "))
    return known + consumers + sorted(tags - set(known) - set(consumers))


def _step_rows(results: list[dict[str, Any]], field: str) -> list[tuple[object, ...]]:
    rows: list[tuple[object, ...]] = []
    for tag in _ordered_tags(results):
        rows.append((tag, *(r["steps"].get(tag, {}).get(field, 0.0) / max(r["orders"].ok, 1) for r in results)))
    rows.append(("total", *(sum(s[field] for s in r["steps"].values()) / max(r["orders"].ok, 1) for r in results)))
    return rows


def _cpu_rows(results: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    parts = ["web", "worker", "beat", "redis", "postgres", "load client (this process)"]
    parts = [p for p in parts if all(p in r["cpu"] for r in results)]
    rows: list[tuple[object, ...]] = []
    for part in parts:
        rows.append((f"{part}, CPU ms/order", *(_ms(r["cpu"][part]) / max(r["orders"].ok, 1) for r in results)))
    rows.append(("bench stack total, CPU ms/order",
                 *(_ms(sum(r["cpu"][p] for p in parts)) / max(r["orders"].ok, 1) for r in results)))  # fmt: skip
    rows.append(("rest of the machine, CPU ms/order",
                 *(_ms(r["cpu"]["machine"] - sum(r["cpu"][p] for p in parts)) / max(r["orders"].ok, 1)
                   for r in results)))  # fmt: skip
    rows.append(("load average (1 min) before / after",
                 *(f"{r['load'][0][0]:.1f} / {r['load'][1][0]:.1f}" for r in results)))  # fmt: skip
    return rows


def main() -> None:
    from bench.ceiling import ceiling_table_create
    from bench.pipeline_inline import setup_demo
    from oms.models import Merchant

    raw_key, skus = setup_demo()
    ceiling_table_create()
    merchant_id = Merchant.objects.get(code="demo").pk
    results = [_run_config(web, workers, raw_key, skus, merchant_id) for web in WEB for workers in WORKERS]
    configs = [f"{r['web']} web × {r['workers']} worker" for r in results]
    print_table(
        f"Order pipeline over HTTP: gunicorn, Celery on Redis, PostgreSQL ({ORDERS} 3-line orders with a capture "
        f"payment per configuration, {CLIENTS} client threads; ceiling: {CEILING_REQUESTS} POSTs of the same "
        "bodies to a DRF endpoint doing one INSERT)",
        ["web", "workers", "ceiling req/s", "p50 ms", "p99 ms", "captured/s", "POST p50 ms", "POST p99 ms",
         "captured / ceiling", "released", "released/s", "to released p50 ms", "p99 ms", "released / ceiling"],
        _throughput_rows(results),
    )  # fmt: skip
    for r in results:
        ceiling_statements = r["ceiling_steps"].get("ceiling", {}).get("statements", 0) / max(r["ceiling"].ok, 1)
        notes = [f"ceiling statements/request {ceiling_statements:.2f}"]
        if r["not_released"]:
            notes.append(f"not released: {r['not_released']}")
        if not r["drained"]:
            notes.append("outbox not drained within 60 s")
        if errors := r["orders"].errors + r["ceiling"].errors:
            notes.append(f"errors: {errors[:3]}")
        print(f"  {r['web']} web × {r['workers']} worker: {'; '.join(notes)} (logs: {r['logs']})")
    print_table("SQL statements per order by step (as CaptureQueriesContext counts them)",
                ["step", *configs], _step_rows(results, "statements"))  # fmt: skip
    print_table("Calls per order by step (a relay call serves a batch of events)",
                ["step", *configs], _step_rows(results, "calls"))  # fmt: skip
    print_table("Wall ms per order by step (inclusive of nested steps)",
                ["step", *configs], _step_rows(results, "wall_ms"))  # fmt: skip
    print_table("SQL ms per order by step (round trips as Django timed them)",
                ["step", *configs], _step_rows(results, "sql_ms"))  # fmt: skip
    print_table("Where the CPU went (from /proc, over the orders' window)", ["part", *configs], _cpu_rows(results))
    if profiles := os.environ.get("BENCH_PROFILE_DIR"):
        _print_profiles(Path(profiles))


def _print_profiles(directory: Path) -> None:
    from bench.profiling import summary

    for kind in ("web", "worker"):
        total, areas, functions = summary(directory, kind)
        if not total:
            continue
        title = f"cProfile of the {kind} processes' requests/tasks, own time by area ({total:.1f} s profiled)"
        print_table(title, ["area", "seconds", "share"], [(a, t, f"{t / total:.0%}") for a, t in areas])
        print_table(f"... and by function ({kind})", ["function", "seconds", "share"],
                    [(f, t, f"{t / total:.0%}") for f, t in functions])  # fmt: skip
