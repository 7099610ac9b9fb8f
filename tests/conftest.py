from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import _state as celery_state
from django.conf import settings
from rest_framework.test import APIClient

from inventory.models import Node
from oms.caches import caches_reset
from oms.celery import app as celery_app
from oms.permissions import CSR, WAREHOUSE
from oms.tenancy import api_key_issue
from tests.factories import ChannelFactory, MerchantFactory, NodeFactory, ProductFactory, StockLevelFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"

# The suite speaks plain HTTP to the test client and to local servers (webhook receivers, node systems), as
# `make run` does on 127.0.0.1; the defaults (HTTPS on, private hosts refused) have their own
# tests (tests/oms/test_safe_defaults.py). Settings are loaded before this file: set both the
# environment (for the workers and commands the suite starts) and this process's settings.
os.environ.setdefault("DJANGO_SECURE", "0")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_HOSTS", "1")
os.environ.setdefault("NODE_ALLOW_PRIVATE_HOSTS", "1")
settings.SECURE_SSL_REDIRECT = settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
settings.SECURE_HSTS_SECONDS = 0
settings.WEBHOOK_ALLOW_PRIVATE_HOSTS = settings.NODE_ALLOW_PRIVATE_HOSTS = True
# Race tests start many threads, each with its own connection: a per-process pool would queue
# them (tests/races.py sizes them to what the server has free instead).
settings.DATABASES["default"].get("OPTIONS", {}).pop("pool", None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip PostgreSQL-only tests on SQLite, visibly; under CI (OMS_REQUIRE_POSTGRES) refuse to."""
    if ON_POSTGRES:
        return
    if os.environ.get("OMS_REQUIRE_POSTGRES"):
        raise pytest.UsageError("OMS_REQUIRE_POSTGRES is set but DATABASE_URL is not PostgreSQL.")
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://... (see .ci/run)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> None:
    """Each test's database starts over (its transaction is rolled back, and with it any cache
    version it bumped, whose on_commit never runs): so do this process's caches (oms.caches)."""
    caches_reset()


@pytest.fixture(autouse=True)
def _eager_celery() -> Any:
    """Tasks run in-process unless a test starts a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@contextmanager
def unreachable_broker() -> Iterator[None]:
    """Point Celery at a real broker address where nothing listens, then restore it."""
    dead = "redis://127.0.0.1:1/0"
    saved_env = os.environ.get("CELERY_BROKER_URL")
    original, eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    # Celery reads CELERY_BROKER_URL from the environment before its own configuration.
    os.environ["CELERY_BROKER_URL"] = dead
    celery_app.conf.update(broker_url=dead, task_always_eager=False)
    _reset_broker_connections()
    try:
        yield
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        celery_app.conf.update(broker_url=original, task_always_eager=eager)
        _reset_broker_connections()


def _reset_broker_connections() -> None:
    # close() drops pooled connections but also unregisters the app, after which tasks
    # declared later with @shared_task would not find it: register it again.
    celery_app.close()
    celery_state._register_app(celery_app)


class MerchantApi:
    """A merchant with its channels, products, a pick-up store and an authenticated client."""

    def __init__(self, code: str) -> None:
        self.merchant = MerchantFactory(code=code, order_prefix=code.upper())
        self.web = ChannelFactory(merchant=self.merchant, code="web")
        self.marketplace = ChannelFactory(merchant=self.merchant, code="marketplace", kind="marketplace")
        self.red = ProductFactory(
            merchant=self.merchant, sku="TSHIRT-RED-M", name="Red T-shirt M", barcode="0012345678905"
        )
        self.blue = ProductFactory(
            merchant=self.merchant, sku="TSHIRT-BLUE-M", name="Blue T-shirt M", barcode="0012345678912"
        )
        self.store = NodeFactory(code=f"{code.upper()}-STORE-1", type=Node.Type.STORE, merchants=[self.merchant])
        self.key, self.raw_key = api_key_issue(merchant=self.merchant)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {self.raw_key}")


@pytest.fixture
def api(db: Any) -> MerchantApi:
    return MerchantApi("acme")


@pytest.fixture
def stocked(api: MerchantApi) -> MerchantApi:
    """`api` with a DC holding both T-shirts, and a remorse period that keeps allocated orders
    unreleased (open to line changes)."""
    from fulfillment.execution.models import FulfillmentSettings

    dc = NodeFactory(code="ACME-DC", merchants=[api.merchant], ships_to=["US"])
    for product in (api.red, api.blue):
        StockLevelFactory(product=product, node=dc, on_hand=10)
    FulfillmentSettings.objects.create(merchant=api.merchant, remorse_minutes=30)
    return api


@pytest.fixture
def other_api(db: Any) -> MerchantApi:
    return MerchantApi("rival")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    """Under CI, a PostgreSQL-marked or browser test that skips (for any reason) fails the run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and "postgres" in item.keywords and os.environ.get("OMS_REQUIRE_POSTGRES"):
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL-marked test was skipped under CI: {report.longrepr}"
    # Likewise a browser test (tests/browser/) that found no Chromium or Playwright.
    if report.skipped and "browser" in item.keywords and os.environ.get("OMS_REQUIRE_BROWSER"):
        report.outcome = "failed"
        report.longrepr = f"Browser test was skipped under CI (OMS_REQUIRE_BROWSER): {report.longrepr}"


def suite_database_url() -> str:
    """DATABASE_URL of the test database, for processes the suite starts (workers, run_stack)."""
    from urllib.parse import quote

    db = settings.DATABASES["default"]
    auth = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    return f"postgres://{auth}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db: Any, tmp_path: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A real `celery -A oms worker` subprocess on Redis, working on this test's database.

    Needs PostgreSQL (the worker is another process: it must see what the test committed) and
    a transactional test. Each test database gets its own Redis database number (override with
    OMS_TEST_REDIS_DB), so parallel runs do not take each other's tasks. The test process
    publishes to the same broker while the fixture is active. `@pytest.mark.worker(queues="a,b")`
    has it consume those queues instead of the default one; `process.env` is its environment.
    """
    import zlib

    import redis

    from tests.processes import celery_worker_start, stop

    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.skip("a real worker needs PostgreSQL")
    database_url = suite_database_url()
    number = int(os.environ.get("OMS_TEST_REDIS_DB") or 1 + zlib.crc32(db["NAME"].encode()) % 15)
    broker = f"redis://127.0.0.1:6379/{number}"
    redis.Redis.from_url(broker).flushdb()
    log = tmp_path / "worker.log"
    marker = request.node.get_closest_marker("worker")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    queues = marker.kwargs.get("queues", "") if marker else ""
    process = celery_worker_start(env=env, log=log, name=f"pytest-{number}@%h", queues=queues)
    process.env = env  # type: ignore[attr-defined]
    original = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker  # Celery reads it before its own configuration
    celery_app.conf.update(broker_url=broker, task_always_eager=False)
    _reset_broker_connections()
    # close() keeps the producer pool, which may still hold a connection to the old broker.
    celery_app.amqp._producer_pool = None
    # A thread of an earlier test may have made Celery create its fallback "default" app, which
    # @shared_task proxies would then publish through (to its own broker): pin ours.
    celery_app.set_default()
    celery_app.set_current()
    try:
        yield process
    finally:
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        celery_app.conf.update(broker_url=original[0], task_always_eager=original[1])
        _reset_broker_connections()
        celery_app.amqp._producer_pool = None
        stop(process)
        redis.Redis.from_url(broker).flushdb()
        print(log.read_text()[-5000:])  # shown by pytest when the test failed


def staff_client(client: Any, username: str, group: str) -> Any:
    """`client` logged in as a staff user of that admin group (oms.permissions); `client.user` is them."""
    from django.contrib.auth.models import Group

    from tests.factories import UserFactory

    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def csr(client: Any, db: Any) -> Any:
    """The test client logged in as a CSR (casey)."""
    return staff_client(client, "casey", CSR)


@pytest.fixture
def warehouse(client: Any, db: Any) -> Any:
    """The test client logged in as a warehouse user (packer)."""
    return staff_client(client, "packer", WAREHOUSE)
