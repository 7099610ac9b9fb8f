"""Order search benchmark (PostgreSQL): `python -m bench search`.

Seeds SEARCH_ORDERS orders (two lines each) for one merchant, then times what the admin's order
list runs for a search — the count and the first page of 50 (orders.search) — for each kind of
term, next to the ceiling measured in the same run on the same tables: the same two statements
for an exact order number (served by the unique index). It also says whether PostgreSQL's plan
uses the trigram indexes. Medians over BENCH_ROUNDS x 10 runs each.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from bench.common import median, print_table

ORDERS = int(os.environ.get("SEARCH_ORDERS", "50000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PREFIX = "SRCH"


def _seed() -> Any:
    from django.utils import timezone

    from inventory.models import Product
    from oms.models import Channel, Merchant
    from orders.models import Customer, Order, OrderLine

    defaults = {"name": "Search bench", "order_prefix": PREFIX}
    merchant, created = Merchant.objects.get_or_create(code="bench-search", defaults=defaults)
    if not created and Order.objects.filter(merchant=merchant).count() >= ORDERS:
        return merchant
    channel, _ = Channel.objects.get_or_create(merchant=merchant, code="web", defaults={"name": "Web"})
    product, _ = Product.objects.get_or_create(merchant=merchant, sku="BENCH-SKU", defaults={"name": "Bench"})
    customer, _ = Customer.objects.get_or_create(merchant=merchant, email="bench@example.org")
    now = timezone.now()
    words = ["brass", "oak", "linen", "wool", "steel", "cotton", "glass", "clay"]
    things = ["lamp", "chair", "throw", "mug", "vase", "shelf", "rug", "bowl"]
    start = Order.objects.filter(merchant=merchant).count()
    for batch in range(start, ORDERS, 5000):
        orders = Order.objects.bulk_create([
            Order(merchant=merchant, channel=channel, number=f"{PREFIX}-{i:07d}", external_id=f"ext-{i * 7919}",
                  channel_order_name=f"#{100000 + i}", placed_at=now, currency="USD", customer=customer,
                  email=f"buyer{i}@example.org", phone=f"+1415{i:07d}", status="validated", service_level="standard",
                  shipping_address={"postal_code": f"{i % 90000 + 10000}", "country": "US"}, total=Decimal("10"),
                  request_hash="bench")
            for i in range(batch, min(batch + 5000, ORDERS))
        ])  # fmt: skip
        OrderLine.objects.bulk_create([
            OrderLine(order=o, position=p, product=product,
                      sku=f"{words[(o.pk + p) % 8].upper()}-{o.pk % 9973:04d}-{p}",
                      name=f"{words[o.pk % 8]} {things[(o.pk // 8 + p) % 8]} {o.pk % 97}", unit_price=Decimal("5"),
                      quantity=1)
            for o in orders for p in (1, 2)
        ])  # fmt: skip
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order; ANALYZE orders_orderline")
    return merchant


def _list_page(merchant: Any, term: str, search: Callable[..., Any]) -> Callable[[], int]:
    from orders.models import Order

    def run() -> int:
        found = search(Order.objects.filter(merchant=merchant), term)
        found.count()
        return len(list(found.order_by("-created_at", "-id").values_list("pk", flat=True)[:50]))

    return run


def _exact(queryset: Any, term: str) -> Any:
    return queryset.filter(number=term)


def _timed(run: Callable[[], int]) -> float:
    run()  # warm-up
    samples = []
    for _ in range(10 * ROUNDS):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return median(samples)


def _uses_trigram(merchant: Any, term: str) -> str:
    from django.db import connection

    from orders.models import Order
    from orders.search import order_search

    sql, params = order_search(Order.objects.filter(merchant=merchant), term).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return "yes" if "_trgm" in plan else "no (seq scan)"


def main() -> None:
    from orders.models import OrderLine
    from orders.search import order_search

    merchant = _seed()
    middle = ORDERS // 2
    digits = f"{middle:07d}"
    line = OrderLine.objects.filter(order__merchant=merchant, order__number=f"{PREFIX}-{digits}").first()
    terms = [
        ("partial order number", digits[-5:]),
        ("partial SKU", line.sku[:-2].lower()),
        ("product name words", line.name),
        ("e-mail part", f"buyer{middle}@"),
        ("phone, typed", f"(415) {digits[:3]}-{digits[3:]}"),
        ("postal code", f"{middle % 90000 + 10000}"),
        ("channel order name", f"#{100000 + middle}"),
    ]
    ceiling = _timed(_list_page(merchant, f"{PREFIX}-{middle:07d}", _exact))
    rows = []
    for label, term in terms:
        ms = _timed(_list_page(merchant, term, order_search))
        found = _list_page(merchant, term, order_search)()
        rows.append((label, term, found, ms, ceiling, ms / ceiling, _uses_trigram(merchant, term)))
    print_table(
        f"Order list with a search, {ORDERS:,} orders / {2 * ORDERS:,} lines (count + first page, median ms)",
        ["search", "term", "found (page)", "ms", "exact-number ms (ceiling)", "x ceiling", "trigram index"],
        rows,
    )
