"""Channel webhook intake latency (p50/p99), beside a same-run ceiling.

Each request is a signed Shopify `orders/create` webhook with a fresh X-Shopify-Webhook-Id,
posted with Django's test client (URL routing, the connection look-up, credential decryption,
HMAC-SHA256 of the body, the one INSERT, the 202; no socket). The job it queues goes to an
in-memory broker, so only the intake is timed. A replay (same id) is timed too.

Ceiling: the same process sending bare psycopg the intake's two statements (the connection
SELECT and the INSERT ... ON CONFLICT DO NOTHING RETURNING) per request.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import Any

from bench.common import median, percentile, print_table

REQUESTS = int(os.environ.get("BENCH_WEBHOOKS", "1000"))


def _setup() -> Any:
    from oms.models import Channel, Merchant
    from orders.channels.models import ChannelConnection
    from orders.channels.services.connections import connection_create

    merchant, _ = Merchant.objects.get_or_create(code="bench", defaults={"name": "Bench", "order_prefix": "B"})
    channel, _ = Channel.objects.get_or_create(merchant=merchant, code="bench-shopify", defaults={"name": "Shopify"})
    existing = ChannelConnection.objects.filter(channel=channel).first()
    if existing is not None:
        return existing
    return connection_create(
        merchant=merchant,
        channel=channel,
        kind=ChannelConnection.Kind.SHOPIFY,
        base_url="https://bench.myshopify.com",
        credentials={"token": "shpat_bench", "webhook_secret": "bench-secret"},
        active=True,
    )


def _order(i: int) -> bytes:
    return json.dumps(
        {
            "id": 5_600_000_000_000 + i,
            "name": f"#{i}",
            "email": "bench@example.com",
            "currency": "USD",
            "total_price": "24.84",
            "line_items": [{"id": i, "sku": "BENCH-00", "quantity": 1, "price": "20.00", "tax_lines": []}],
        }
    ).encode()


def _intake(connection: Any, replay: bool) -> list[float]:
    from django.test import Client

    from orders.channels.connectors.base import hmac_base64

    client = Client()
    url = f"/api/v1/channels/connections/{connection.uuid}/webhooks/"
    run = uuid.uuid4().hex[:8]
    times = []
    for i in range(REQUESTS):
        body = _order(i)
        webhook_id = f"{run}-0" if replay else f"{run}-{i}"
        start = time.perf_counter()
        response = client.post(
            url,
            data=body,
            content_type="application/json",
            HTTP_X_SHOPIFY_HMAC_SHA256=hmac_base64("bench-secret", body),
            HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
            HTTP_X_SHOPIFY_TOPIC="orders/create",
        )
        times.append(time.perf_counter() - start)
        assert response.status_code == 202, response.content
    return times


def _ceiling(connection: Any) -> list[float]:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    dsn = f"postgresql://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    run = uuid.uuid4().hex[:8]
    times = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        for i in range(REQUESTS):
            start = time.perf_counter()
            conn.execute("SELECT id, credentials FROM orders_channelconnection WHERE uuid = %s", [connection.uuid])
            conn.execute(
                "INSERT INTO orders_channelwebhook (connection_id, webhook_id, topic, body, received_at, result) "
                "VALUES (%s, %s, 'orders/create', %s, now(), '') "
                "ON CONFLICT (connection_id, webhook_id) DO NOTHING RETURNING id",
                [connection.pk, f"ceiling-{run}-{i}", _order(i).decode()],
            ).fetchone()
            times.append(time.perf_counter() - start)
    return times


def main() -> None:
    from oms.celery import app

    # The queued job goes nowhere: only the intake is timed.
    app.conf.task_always_eager = False
    os.environ["CELERY_BROKER_URL"] = "memory://"
    app.conf.broker_url = "memory://"
    connection = _setup()
    ceiling = _ceiling(connection)
    rows = []
    for mode, replay in (("new delivery", False), ("replayed id", True)):
        times = _intake(connection, replay)
        rows.append(
            (
                mode,
                REQUESTS,
                median(times) * 1000,
                percentile(times, 99) * 1000,
                percentile(ceiling, 99) * 1000,
                f"{percentile(times, 99) / percentile(ceiling, 99):.1f}",
            )
        )
    print_table(
        f"Channel webhook intake on PostgreSQL ({REQUESTS} signed Shopify webhooks, one process)",
        ["mode", "requests", "p50 ms", "p99 ms", "ceiling p99 ms (SELECT + INSERT)", "p99 / ceiling"],
        rows,
    )
