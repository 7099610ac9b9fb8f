"""What the order pipeline's hot statements cost Django to build, beside sending their SQL.

Each row times one statement as the services make it (the ORM call, over many runs) next to a
ceiling measured in the same run: the very SQL and parameters Django sent for it, executed on
the same connection by the driver's own cursor, rows fetched. The difference is Django's work:
building the query, compiling it, adapting values, making model instances. Where the services
build a statement another way to save that work (a narrower read, one UPDATE joined to a VALUES
list), the way they used before is timed beside it. Everything runs in one transaction, rolled
back at the end, on an order of the demo network that went through the whole pipeline. A second
table times the 201's body of that order: DRF's output serializers and the JSON, beside the JSON
of the same body alone.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench.common import print_table

RUNS = int(os.environ.get("BENCH_RUNS", "300"))


def _sent(call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The (sql, params) of every statement `call` makes Django send."""
    from django.db import connection

    seen: list[tuple[str, Any]] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append((sql, params))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(record):
        call()
    return seen


def _driver(statements: list[tuple[str, Any]]) -> Callable[[], None]:
    """Send these statements with the driver's cursor, as Django would, and fetch their rows."""
    from django.db import connection

    def run() -> None:
        with connection.cursor() as wrapper:
            cursor = wrapper.cursor  # psycopg's own, under Django's wrapper
            for sql, params in statements:
                cursor.execute(sql, params)
                if cursor.description:
                    cursor.fetchall()

    return run


def _microseconds(call: Callable[[], Any]) -> float:
    """Median of five rounds of RUNS/5 calls, in µs per call (a noisy machine's spikes drop out)."""
    call()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(max(RUNS // 5, 1)):
            call()
        rounds.append((time.perf_counter() - start) / max(RUNS // 5, 1) * 1e6)
    return statistics.median(rounds)


def _cases(order: Any) -> list[tuple[str, str, Callable[[], Any]]]:
    """(statement, how it is built, the call) for the pipeline's hot statements on `order`."""
    from fulfillment.routing.services.allocation import order_lock as allocation_lock
    from oms.bulk import update_together
    from orders.models import Order, OrderLine
    from orders.services.holds import order_lock

    lines = list(order.lines.order_by("position"))
    locked = Order.objects.select_for_update(of=("self",))
    by_external_id = Order.objects.filter(
        merchant_id=order.merchant_id, channel_id=order.channel_id, external_id=f"{order.external_id}-new"
    )
    for_email = OrderLine.objects.filter(order__merchant_id=order.merchant_id, order__number=order.number)
    return [
        ("order lock (payment rule, release)", "with its channel", lambda: order_lock(order)),
        ("allocation's order lock", "with merchant and store, before",
         lambda: locked.select_related("channel", "merchant", "pickup_node").get(pk=order.pk)),
        ("allocation's order lock", "with its channel, now", lambda: allocation_lock(order.pk)),
        ("capture: external id already taken?", "whole row, before", lambda: by_external_id.first()),
        ("capture: external id already taken?", "its id alone, now",
         lambda: next(iter(by_external_id.order_by().values_list("pk", flat=True)[:1]), None)),
        ("order transition save", "every column", lambda: order.save()),
        ("order transition save", "status columns", lambda: order.save(update_fields=["status", "updated_at"])),
        ("3 lines' allocated quantities", "bulk_update, before",
         lambda: OrderLine.objects.bulk_update(lines, ["qty_allocated", "qty_backordered"])),
        ("3 lines' allocated quantities", "update_together, now",
         lambda: update_together(lines, ["qty_allocated", "qty_backordered"])),
        ("the e-mail's order with its lines", "with the pick-up store, before",
         lambda: list(for_email.select_related("order__pickup_node", "order__merchant").order_by("position"))),
        ("the e-mail's order with its lines", "without it, now",
         lambda: list(for_email.select_related("order__merchant").order_by("position"))),
    ]  # fmt: skip


def _order() -> Any:
    """An order of the demo network that went from its POST to `released`."""
    import logging

    from bench.pipeline_inline import _client, _eager, _post, order_body, setup_demo
    from orders.models import Order

    logging.getLogger("celery.app.trace").setLevel(logging.WARNING)  # one line per eager task otherwise
    raw_key, skus = setup_demo()
    _eager()
    number = _post(_client(raw_key), order_body(0, uuid.uuid4().hex[:8], skus))
    return Order.objects.get(number=number)


def _rendering(order: Any) -> list[tuple[str, float, float]]:
    """The 201's body of a captured order: DRF's serializers beside dumping their result as JSON."""
    import json

    from django.core.serializers.json import DjangoJSONEncoder

    from orders.api.outputs import OrderOut
    from orders.selectors import order_get

    order = order_get(merchant=order.merchant, number=order.number)

    def rendered() -> str:
        return json.dumps(OrderOut(order, context={"just_captured": True}).data, cls=DjangoJSONEncoder)

    body = json.loads(rendered())
    alone = _microseconds(lambda: json.dumps(body, cls=DjangoJSONEncoder))
    return [("an order's 201 body (OrderOut)", _microseconds(rendered), alone)]


def main() -> None:
    from django.db import transaction

    order = _order()
    rendered = [(what, round(us), round(json_us), f"{json_us / us:.2f}") for what, us, json_us in _rendering(order)]
    rows = []
    with transaction.atomic():
        for statement, built, call in _cases(order):
            sent = _sent(call)
            django_us, driver_us = _microseconds(call), _microseconds(_driver(sent))
            rows.append((statement, built, len(sent), round(django_us), round(driver_us),
                         f"{driver_us / django_us:.2f}"))  # fmt: skip
        transaction.set_rollback(True)
    print_table(
        f"Hot statements of the pipeline: Django's call beside its own SQL sent by the driver ({RUNS} runs each)",
        ["statement", "built", "statements", "Django µs", "SQL alone µs (ceiling)", "ratio"],
        rows,
    )
    print_table(
        "Rendering: DRF's serializers beside dumping the same body as JSON",
        ["body", "serializers + JSON µs", "JSON alone µs (ceiling)", "ratio"],
        rendered,
    )
