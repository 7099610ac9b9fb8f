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
from oms.celery import app as celery_app
from oms.tenancy import api_key_issue
from tests.factories import ChannelFactory, MerchantFactory, NodeFactory, ProductFactory

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


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
def _eager_celery() -> Any:
    """Tasks run in-process unless a test starts a real worker."""
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = settings.CELERY_TASK_ALWAYS_EAGER


@contextmanager
def unreachable_broker() -> Iterator[None]:
    """Point Celery at a real broker address where nothing listens, then restore it."""
    original, eager = celery_app.conf.broker_url, celery_app.conf.task_always_eager
    celery_app.conf.update(broker_url="redis://127.0.0.1:1/0", task_always_eager=False)
    _reset_broker_connections()
    try:
        yield
    finally:
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
def other_api(db: Any) -> MerchantApi:
    return MerchantApi("rival")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    """Under CI, a PostgreSQL-marked test that skips (for any reason) fails the run."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and "postgres" in item.keywords and os.environ.get("OMS_REQUIRE_POSTGRES"):
        report.outcome = "failed"
        report.longrepr = f"PostgreSQL-marked test was skipped under CI: {report.longrepr}"
