"""Routing benchmarks: the pure planning step, and end-to-end allocation on PostgreSQL.

`python -m bench routing`. Each figure is printed beside a ceiling measured in the same run:

- Planning: decisions per second and p50/p99 latency of `plan_order` for orders of 1, 3 and 10
  lines over 10, 100 and 1,000 candidate nodes (random US networks, half the stock rows empty,
  a store guardrail, up to 3 shipments). Ceiling: a bare scan of the same inputs — one ATP
  lookup and one haversine distance per (line, node), the least any planner must do.
- Allocation: orders per second through `order_allocate` (plan + reserve + fulfilment orders +
  decision + timeline + events, one transaction per order) with 1 and 2 worker processes, for
  3-line orders over 50 nodes. Ceilings, same processes and connections: `stock_reserve` of three
  lines per transaction (the reservation alone), and three bare conditional UPDATEs per
  transaction through psycopg (no ledger). Run once with the cost estimator as configured
  (carrier rate cards) and once with routing's zone table, to show what the estimator costs.

BENCH_PLAN_SECONDS (default 1.5) bounds each planning cell; BENCH_ORDERS (default 300) sets how
many orders each configuration routes, in BENCH_ROUNDS (default 3) rounds that alternate with
the ceilings' so load from elsewhere hits every path alike; medians are compared.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any

from bench.common import dsn, median, percentile, print_table

PLAN_SECONDS = float(os.environ.get("BENCH_PLAN_SECONDS", "1.5"))
ORDERS = int(os.environ.get("BENCH_ORDERS", "300"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
LINES = [1, 3, 10]
NODES = [10, 100, 1000]
E2E_NODES, E2E_SKUS, E2E_LINES = 50, 200, 3
NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)


# --- the pure planning step ----------------------------------------------------------------------


def _network(n_nodes: int, n_products: int, rng: random.Random) -> Any:
    from fulfillment.routing.planner import Network, NodeInfo

    nodes = []
    for i in range(n_nodes):
        kind = rng.choices(["dc", "store", "dropship"], [2, 7, 1])[0]
        caps = {"dc": {"ship"}, "store": {"ship_from_store", "pickup"}, "dropship": {"ship"}}[kind]
        nodes.append(
            NodeInfo(
                id=i + 1, code=f"N{i:04d}", type=kind, capabilities=frozenset(caps), ships_to=frozenset({"US"}),
                country="US", latitude=26 + rng.random() * 22, longitude=-122 + rng.random() * 52,
                daily_capacity=rng.choice([None, None, 500]), used_today=rng.randint(0, 400),
                handling_cost=Decimal(rng.choice(["0.00", "1.50", "3.00"])), priority=rng.randint(1, 100),
            )
        )  # fmt: skip
    atp = {(p, n.id): rng.choice([0, 0, 1, 3, 8]) for n in nodes for p in range(1, n_products + 1)}
    return Network(tuple(nodes), atp)


def _order(n_lines: int, rng: random.Random) -> Any:
    from fulfillment.routing.planner import LineInfo, OrderInfo
    from inventory.geocoding import geocode

    point = geocode(country="US", region="NY", postal_code="10001")
    lines = tuple(LineInfo(100 + i, i + 1, f"SKU-{i + 1}", rng.choice([1, 1, 2])) for i in range(n_lines))
    return OrderInfo(1, "B-1", "web", "standard", "ship", "US", "NY", "10001", point, Decimal(100), None, lines)


def _bare_scan(order: Any, network: Any) -> int:
    """What any planner must at least do: each (line, node) pair's stock and distance."""
    from inventory.geocoding import distance_km

    lat, lng = order.point.latitude, order.point.longitude
    found = 0
    for line in order.lines:
        for node in network.nodes:
            if network.atp.get((line.product_id, node.id), 0) >= line.quantity:
                found += distance_km(lat, lng, node.latitude, node.longitude) < math.inf
    return found


def _time_cell(fn: Callable[[], Any]) -> list[float]:
    fn()  # warm-up
    times: list[float] = []
    deadline = time.perf_counter() + PLAN_SECONDS
    while time.perf_counter() < deadline or len(times) < 5:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return times


def bench_planning() -> None:
    from fulfillment.routing.costs import DEFAULT_TABLE, ZoneTableEstimator
    from fulfillment.routing.planner import plan_order
    from fulfillment.routing.spec import Filters, PolicySpec, StrategySpec

    policy = PolicySpec("bench", (StrategySpec("bench", filters=Filters(store_guardrail=1), max_shipments=3),))
    estimator = ZoneTableEstimator(DEFAULT_TABLE)
    rows = []
    for n_nodes in NODES:
        for n_lines in LINES:
            rng = random.Random(n_nodes * 100 + n_lines)
            network, order = _network(n_nodes, n_lines, rng), _order(n_lines, rng)
            plans = _time_cell(partial(plan_order, order, network, policy, now=NOW, estimator=estimator))
            scans = _time_cell(partial(_bare_scan, order, network))
            plan = plan_order(order, network, policy, now=NOW, estimator=estimator)
            rows.append([
                n_lines, n_nodes, 1 / median(plans), percentile(plans, 50) * 1000, percentile(plans, 99) * 1000,
                plan.shipments, 1 / median(scans), f"{median(plans) / median(scans):.0f}x",
            ])  # fmt: skip
    print_table(
        f"Pure planning step (plan_order; {PLAN_SECONDS:g} s per cell; ceiling = bare scan of the same "
        "(line, node) pairs: ATP lookup + distance)",
        ["lines", "nodes", "decisions/s", "p50 ms", "p99 ms", "shipments", "bare scans/s", "plan / scan"],
        rows,
    )


# --- end-to-end allocation -----------------------------------------------------------------------


def _setup_network() -> tuple[Any, list[Any], list[Any]]:
    from inventory.models import Movement, Node, Product, StockLevel
    from oms.models import Channel, Merchant

    merchant, _ = Merchant.objects.get_or_create(code="bench-route", defaults={"name": "bench", "order_prefix": "BR"})
    Channel.objects.get_or_create(merchant=merchant, code="web", defaults={"name": "Web"})
    rng = random.Random(7)
    nodes = []
    for i in range(E2E_NODES):
        kind = "store" if i % 3 else "dc"
        node, _ = Node.objects.get_or_create(
            code=f"BENCH-RT-{i:03d}",
            defaults={"name": f"bench {i}", "type": kind, "ships_to": ["US"], "country": "US",
                      "capabilities": ["ship_from_store"] if kind == "store" else ["ship"],
                      "latitude": Decimal(f"{26 + rng.random() * 22:.6f}"),
                      "longitude": Decimal(f"{-122 + rng.random() * 52:.6f}")},
        )  # fmt: skip
        node.merchants.add(merchant)
        nodes.append(node)
    have = set(Product.objects.filter(merchant=merchant).values_list("sku", flat=True))
    Product.objects.bulk_create(
        [Product(merchant=merchant, sku=f"RT-{i:04d}", name=f"RT {i}") for i in range(E2E_SKUS)
         if f"RT-{i:04d}" not in have]
    )  # fmt: skip
    products = list(Product.objects.filter(merchant=merchant, sku__startswith="RT-").order_by("sku"))
    existing = set(StockLevel.objects.filter(product__in=products, node__in=nodes).values_list("product_id", "node_id"))
    new = [StockLevel(product=p, node=n, on_hand=10**8) for n in nodes for p in products
           if (p.pk, n.pk) not in existing and rng.random() < 0.6]  # fmt: skip
    StockLevel.objects.bulk_create(new, batch_size=5000)
    Movement.objects.bulk_create(
        [Movement(stock_id=s.pk, kind="receipt", on_hand_delta=10**8, actor_kind="system", actor_label="bench")
         for s in StockLevel.objects.filter(product__in=products, node__in=nodes).exclude(
             pk__in=Movement.objects.values("stock_id"))],
        batch_size=5000,
    )  # fmt: skip
    return merchant, nodes, products


def _ready_orders(merchant: Any, products: list[Any], count: int) -> list[int]:
    """Insert `count` ready 3-line orders in bulk (capture is not what is measured)."""
    from django.utils import timezone

    from oms.models import Channel
    from orders.models import Customer, Order, OrderLine, OrderStatus

    customer, _ = Customer.objects.get_or_create(merchant=merchant, email="bench@example.com")
    channel = Channel.objects.get(merchant=merchant, code="web")
    tag = uuid.uuid4().hex[:8]
    rng = random.Random(tag)
    address = {"line1": "350 5th Ave", "city": "New York", "region": "NY", "postal_code": "10001", "country": "US"}
    orders = Order.objects.bulk_create(
        [Order(merchant=merchant, channel=channel, customer=customer, number=f"BR-{tag}-{i}", external_id=f"{tag}-{i}",
               status=OrderStatus.READY, placed_at=timezone.now(), currency="USD", email=customer.email,
               shipping_address=address, service_level="standard", total=Decimal(60), request_hash="bench")
         for i in range(count)],
        batch_size=1000,
    )  # fmt: skip
    OrderLine.objects.bulk_create(
        [OrderLine(order=o, position=j + 1, product=p, sku=p.sku, name=p.name, unit_price=Decimal(20), quantity=1)
         for o in orders for j, p in enumerate(rng.sample(products, E2E_LINES))],
        batch_size=5000,
    )  # fmt: skip
    return [o.pk for o in orders]


def _child(work: Callable[[int, float], tuple[int, float]], index: int, start_at: float, out: Any) -> None:
    out.put(work(index, start_at))


def _parallel(work: Callable[[int, float], tuple[int, float]], processes: int) -> float:
    """Run work(i, start_at) in forked processes; return operations per second over the slowest."""
    from django.db import connections

    connections.close_all()  # children must open their own connections
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 0.5
    procs = [ctx.Process(target=_child, args=(work, i, start_at, out)) for i in range(processes)]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    done = sum(r[0] for r in results)
    return done / max(r[1] for r in results)


def _allocate_worker(order_ids: list[int], processes: int, zone_table: bool) -> Callable[[int, float], Any]:
    def work(index: int, start_at: float) -> tuple[int, float]:
        from django.db import connection

        from fulfillment.routing.costs import register_estimator_factory
        from fulfillment.routing.services import order_allocate
        from oms.celery import app

        # Events go to an in-memory broker: this measures the allocation job, not its consumers
        # (release, e-mails, webhooks), which other workers run.
        app.conf.task_always_eager = False
        app.conf.broker_url = "memory://"
        if zone_table:
            register_estimator_factory(None)
        mine = order_ids[index::processes]
        connection.ensure_connection()
        time.sleep(max(0.0, start_at - time.time()))
        t = time.perf_counter()
        placed = sum(order_allocate(order_id=pk) is not None for pk in mine)
        elapsed = time.perf_counter() - t
        connection.close()
        return placed, elapsed

    return work


def _reserve_worker(keys: list[list[tuple[int, int]]], processes: int) -> Callable[[int, float], Any]:
    def work(index: int, start_at: float) -> tuple[int, float]:
        from django.db import connection

        from inventory.services import ReserveItem, stock_reserve
        from oms.actors import Actor
        from oms.refs import Ref

        actor = Actor.system("bench")
        mine = keys[index::processes]
        connection.ensure_connection()
        time.sleep(max(0.0, start_at - time.time()))
        t = time.perf_counter()
        done = 0
        for triple in mine:
            items = [ReserveItem(p, n, 1) for p, n in triple]
            done += stock_reserve(items=items, reference=Ref("bench.order", uuid.uuid4().hex[:16]), actor=actor).ok
        elapsed = time.perf_counter() - t
        connection.close()
        return done, elapsed

    return work


BARE_SQL = (
    "UPDATE inventory_stocklevel SET allocated = allocated + 1, updated_at = now() "
    "WHERE id = %s AND on_hand - allocated - safety_stock >= 1"
)


def _bare_worker(dsn: str, stock_ids: list[list[int]], processes: int) -> Callable[[int, float], Any]:
    def work(index: int, start_at: float) -> tuple[int, float]:
        import psycopg

        mine = stock_ids[index::processes]
        with psycopg.connect(dsn) as conn:
            cur = conn.cursor()
            time.sleep(max(0.0, start_at - time.time()))
            t = time.perf_counter()
            for triple in mine:
                for stock_id in sorted(triple):
                    cur.execute(BARE_SQL, [stock_id])
                conn.commit()
            elapsed = time.perf_counter() - t
        return len(mine), elapsed

    return work


def bench_allocation() -> None:
    from django.db import connection

    from fulfillment.models import FulfillmentOrder
    from inventory.models import StockLevel
    from orders.models import OrderLine

    merchant, nodes, products = _setup_network()
    rows_by_pair = {(p, n): pk for pk, p, n in StockLevel.objects.filter(product__in=products, node__in=nodes)
                    .values_list("pk", "product_id", "node_id")}  # fmt: skip
    pairs = list(rows_by_pair)
    url = dsn()
    per_round = max(ORDERS // ROUNDS, 10)
    table = []
    for processes in (1, 2):
        rng = random.Random(processes)
        figures: dict[str, list[float]] = {"reserve": [], "bare": [], "rate-card": [], "zone-table": []}
        placed = units = 0
        # Rounds alternate the four paths, so a load spike from elsewhere hits all of them alike.
        for _ in range(ROUNDS):
            triples = [rng.sample(pairs, E2E_LINES) for _ in range(per_round)]
            figures["reserve"].append(_parallel(_reserve_worker(triples, processes), processes))
            stock_triples = [[rows_by_pair[k] for k in t] for t in triples]
            ids = sorted({i for t in stock_triples for i in t})
            before = dict(StockLevel.objects.filter(pk__in=ids).values_list("pk", "allocated"))
            figures["bare"].append(_parallel(_bare_worker(url, stock_triples, processes), processes))
            with connection.cursor() as cur:  # the bare UPDATEs wrote no ledger rows: undo them
                cur.execute(
                    "UPDATE inventory_stocklevel s SET allocated = v.a FROM (SELECT unnest(%s::bigint[]) id, "
                    "unnest(%s::int[]) a) v WHERE s.id = v.id",
                    [list(before), list(before.values())],
                )
            for label, zone_table in (("rate-card", False), ("zone-table", True)):
                order_ids = _ready_orders(merchant, products, per_round)
                figures[label].append(_parallel(_allocate_worker(order_ids, processes, zone_table), processes))
                placed += FulfillmentOrder.objects.filter(order_id__in=order_ids).count()
                units += sum(OrderLine.objects.filter(order_id__in=order_ids).values_list("qty_allocated", flat=True))
        reserve, bare = median(figures["reserve"]), median(figures["bare"])
        for label, name in (("rate-card", "rate cards (as configured)"), ("zone-table", "zone table")):
            ours = median(figures[label])
            table.append([processes, name, round(ours), round(reserve), round(bare), f"{ours / reserve:.2f}",
                          f"{ours / bare:.2f}"])  # fmt: skip
    print_table(
        f"End-to-end allocation on PostgreSQL: orders/s, median of {ROUNDS} alternating rounds of {per_round} "
        f"orders ({E2E_LINES} lines, {E2E_NODES} nodes; {placed:,} fulfilment orders and {units:,} units placed in "
        "all). Ceilings: stock_reserve of the same 3 lines per transaction; 3 bare conditional UPDATEs per "
        "transaction (psycopg, no ledger)",
        ["workers", "cost estimator", "orders/s", "stock_reserve txn/s", "bare UPDATE txn/s", "vs reserve",
         "vs bare"],
        table,
    )  # fmt: skip


def main() -> None:
    bench_planning()
    bench_allocation()
