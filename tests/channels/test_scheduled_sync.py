"""The scheduled sync end to end: django-celery-beat and a real Celery worker on Redis pull 600
orders in 3 pages from a Shopify-format server; the next run creates none; a worker killed after
page 2 leaves a run that the next worker resumes without a duplicate."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db.models import Count, F

from orders.channels.models import ChannelConnection, SyncRun
from orders.channels.services.connections import connection_update
from orders.channels.services.sync import CLAIM_LAPSES
from orders.models import Order
from tests.channels.conftest import shopify_connection
from tests.channels.servers import EPOCH, ShopifyServer, shopify_order
from tests.processes import celery_worker_start, running, stop

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.worker(queues="channels"),
    pytest.mark.django_db(transaction=True),
]


@contextmanager
def celery_beat(env: dict[str, str], folder: Path) -> Iterator[None]:
    log = folder / "beat.log"
    argv = ["celery", "-A", "oms", "beat", "--loglevel=INFO", "-S", "django_celery_beat.schedulers:DatabaseScheduler",
            "--pidfile", ""]  # fmt: skip
    try:
        with running(argv, env=env, log=log):
            yield
    finally:
        print(log.read_text()[-3000:])  # shown by pytest when the test failed


def wait_for(condition: Any, what: str, seconds: float = 600) -> None:
    """Poll until the worker has done its part (a deadline for a stuck worker, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.25)


def scheduled_shop(api: Any, server: ShopifyServer) -> ChannelConnection:
    server.orders = [shopify_order(n) for n in range(1, 601)]
    return connection_update(connection=shopify_connection(api, server), changes={"pull_every_seconds": 2})


def no_order_twice() -> bool:
    return not Order.objects.values("channel", "external_id").annotate(n=Count("id")).filter(n__gt=1).exists()


def test_beat_and_a_worker_pull_600_orders_in_3_pages_once(api, shopify_server, celery_worker_process, tmp_path):
    connection = scheduled_shop(api, shopify_server)
    finished = SyncRun.objects.filter(connection=connection, status=SyncRun.Status.OK).order_by("started_at")
    with celery_beat(celery_worker_process.env, tmp_path):
        wait_for(lambda: finished.count() >= 2, "two scheduled runs")
    first, second = finished[:2]
    assert (first.trigger, first.pages, first.fetched, first.created, first.rejected) == ("schedule", 3, 600, 600, 0)
    assert (second.created, second.duplicates) == (0, second.fetched)
    assert Order.objects.filter(channel=connection.channel).count() == 600
    assert no_order_twice()


def test_a_worker_killed_after_page_2_is_resumed_without_a_duplicate(
    api, shopify_server, celery_worker_process, tmp_path
):
    connection = scheduled_shop(api, shopify_server)
    page_three = lambda r: "page_info" in r["query"] and len(shopify_server.calls("GET", r".*/orders\.json")) == 3  # noqa: E731
    reached, release = shopify_server.stall_on(page_three)
    with celery_beat(celery_worker_process.env, tmp_path):
        wait_for(reached.is_set, "the request for page 3")
        os.kill(celery_worker_process.pid, signal.SIGKILL)  # the crash: no cleanup runs
        celery_worker_process.wait()
        release.set()
        assert Order.objects.count() == 500  # pages 1 and 2 committed
        connection.refresh_from_db()
        assert connection.cursor == EPOCH + timedelta(minutes=500)  # moved past page 2 only
        [dead] = SyncRun.objects.filter(connection=connection)
        assert dead.status == SyncRun.Status.RUNNING
        # Time passes: the dead run's claim lapses, and a new worker takes the next scheduled pull.
        ChannelConnection.objects.filter(pk=connection.pk).update(run_started_at=F("run_started_at") - CLAIM_LAPSES)
        worker = celery_worker_start(
            env=celery_worker_process.env, log=tmp_path / "worker2.log", name="pytest-second@%h", queues="channels"
        )
        try:
            wait_for(lambda: SyncRun.objects.filter(connection=connection, status="ok").exists(), "the resumed run")
        finally:
            stop(worker)
    resumed = SyncRun.objects.filter(connection=connection, status="ok").earliest("started_at")
    assert Order.objects.count() == 600
    assert no_order_twice()
    # It read from the cursor (less its overlap window), not from the start.
    assert (resumed.pages, resumed.created, resumed.fetched) == (1, 100, 100 + resumed.duplicates)
    dead.refresh_from_db()
    assert dead.status == SyncRun.Status.FAILED
    assert "stopped" in dead.message
