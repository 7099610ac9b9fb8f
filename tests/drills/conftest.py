"""Fault drills (docs/RELIABILITY.md). Drills marked `drill` are long: only `make drill`
(OMS_DRILLS=1) runs them; the others run with the suite, in CI."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator

import pytest
import redis

from tests.drills.stack import wait_for


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


PORT = 18090  # this engineer's spare port for a private redis-server


class PrivateRedis:
    """A redis-server of the drill's own on a spare port (never the shared one)."""

    url = f"redis://127.0.0.1:{PORT}/0"

    def __init__(self, tmp_path) -> None:
        self.dir = tmp_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(PORT), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for(lambda: self._ping(), timeout=10, what="redis-server to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """SIGSTOP: connections stay open and every call waits, as on a hung broker host."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def _ping(self) -> bool:
        try:
            return redis.Redis(port=PORT, socket_timeout=1).ping()
        except redis.ConnectionError:
            return False


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()
