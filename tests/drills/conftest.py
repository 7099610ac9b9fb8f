"""Fault drills (docs/RELIABILITY.md). Drills marked `drill` are long: only `make drill`
(OMS_DRILLS=1) runs them; the others run with the suite, in CI."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("OMS_DRILLS"):
        return
    long = [item for item in items if "drill" in item.keywords]
    if long:
        config.hook.pytest_deselected(items=long)
        items[:] = [item for item in items if "drill" not in item.keywords]


@pytest.fixture
def redis_broker() -> Iterator[str]:
    """This suite's Redis database on the shared server, emptied before and after."""
    number = os.environ.get("OMS_TEST_REDIS_DB") or "2"
    url = f"redis://127.0.0.1:6379/{number}"
    redis.Redis.from_url(url).flushdb()
    yield url
    redis.Redis.from_url(url).flushdb()
