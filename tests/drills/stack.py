"""The whole stack (`manage.py run_stack`: gunicorn, worker, beat) on the test's PostgreSQL
database, and the means to hurt it: kill its processes, hold locks, terminate connections."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection

from drills.load import post_order
from drills.processes import descendants, program_pid
from oms.demo import DEMO_API_KEY
from tests.conftest import suite_database_url

# Resting states: the order's chain has done what it does without waiting for time or a person.
RESTING = {"allocated", "partially_allocated", "backordered", "released", "on_hold", "cancelled"}


class Stack:
    def __init__(self, process: subprocess.Popen[bytes], base: str, log: Path) -> None:
        self.process, self.base, self.log = process, base, log

    def post(self, body: dict[str, Any], timeout: float = 60, **headers: str) -> tuple[int, Any]:
        return post_order(self.base, body, key=DEMO_API_KEY, timeout=timeout, headers=headers)

    def pid_of(self, word: bytes) -> int:
        pid = program_pid(self.process.pid, word)
        assert pid, f"no {word!r} process under run_stack:\n{self.log.read_text()[-3000:]}"
        return pid

    def kill_worker(self) -> None:
        pid = self.pid_of(b"worker")
        os.kill(pid, signal.SIGKILL)
        # run_stack notices within a moment, and says so.
        wait_for(
            lambda: "worker: killed by SIGKILL" in self.log.read_text(), timeout=10, what=f"run_stack to see {pid} die"
        )

    def kill_web_workers(self) -> None:
        """SIGKILL every gunicorn worker (the processes that serve requests); the master remains."""
        for pid in descendants(self.pid_of(b"gunicorn")):
            os.kill(pid, signal.SIGKILL)


def wait_for(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


@contextmanager
def running_stack(tmp_path: Path, *, port: int, broker: str, **env: str) -> Iterator[Stack]:
    """run_stack on the test database; on exit SIGTERM it and check that nothing is left running."""
    environment = {
        **os.environ,
        "DATABASE_URL": suite_database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "OMS_VAR_DIR": str(tmp_path),
        "PORT": str(port),
        "WEB_CONCURRENCY": "2",
        # Sweepers take an untaken step after 5 s, so a drill does not wait a minute for them.
        "PIPELINE_STALE_SECONDS": "5",
        "PAYMENT_SWEEP_GRACE_SECONDS": "3",
        **env,
    }
    log = tmp_path / "stack.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_stack"],
            cwd=settings.BASE_DIR, env=environment, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    stack = Stack(process, f"http://127.0.0.1:{port}", log)
    connection.close()  # run_stack counts free connections; ours comes back when needed
    try:
        wait_for(
            lambda: process.poll() is not None or ("ready." in log.read_text() and "Listening at" in log.read_text()),
            timeout=120,
            what="the stack to start",
        )
        assert process.poll() is None, log.read_text()[-3000:]
        yield stack
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            print(log.read_text()[-6000:])  # shown when the drill failed
        assert process.returncode == 0
        assert descendants(process.pid) == []


def side_connection(*, autocommit: bool = False) -> psycopg.Connection:
    """A connection of the test's own, outside Django, to hold locks or terminate backends."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=connection.settings_dict["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432, autocommit=autocommit,
    )  # fmt: skip


def lock_waiter(admin: psycopg.Connection, *, besides: int) -> int | None:
    """The pid of a backend of this database that is waiting for a lock (other than `besides`)."""
    row = admin.execute(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        " AND pid <> %s LIMIT 1",
        [besides],
    ).fetchone()
    return row[0] if row else None
