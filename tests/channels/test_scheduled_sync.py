"""The scheduled sync end to end: django-celery-beat and a real Celery worker on Redis pull 600
orders in 3 pages from a Shopify-format server; the next run creates none."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from orders.channels.models import SyncRun
from orders.channels.services.connections import connection_update
from orders.models import Order
from tests.channels.conftest import shopify_connection
from tests.channels.servers import shopify_order

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker(queues="channels"),
    pytest.mark.django_db(transaction=True),
]


@contextmanager
def celery_beat(env: dict[str, str], folder: Path) -> Iterator[None]:
    log = folder / "beat.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "oms", "beat", "--loglevel=INFO",
             "-S", "django_celery_beat.schedulers:DatabaseScheduler", "--pidfile", ""],
            cwd=Path(settings.BASE_DIR), env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        print(log.read_text()[-3000:])  # shown by pytest when the test failed


def wait_for(condition: Any, what: str, seconds: float = 600) -> None:
    """Poll until the worker has done its part (a deadline for a stuck worker, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.25)


def test_beat_and_a_worker_pull_600_orders_in_3_pages_once(api, shopify_server, celery_worker_process, tmp_path):
    shopify_server.orders = [shopify_order(n) for n in range(1, 601)]
    connection = connection_update(
        connection=shopify_connection(api, shopify_server), changes={"pull_every_seconds": 2}
    )
    finished = SyncRun.objects.filter(connection=connection, status=SyncRun.Status.OK).order_by("started_at")
    with celery_beat(celery_worker_process.env, tmp_path):
        wait_for(lambda: finished.count() >= 2, "two scheduled runs")
    first, second = finished[:2]
    assert (first.trigger, first.pages, first.fetched, first.created, first.rejected) == ("schedule", 3, 600, 600, 0)
    assert second.created == 0
    assert Order.objects.filter(channel=connection.channel).count() == 600
