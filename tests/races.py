"""Parallel callers for race proofs on PostgreSQL, sized to what the server has free right now."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from oms.dbsize import postgres_room

# Connections left for everyone else on a shared server (other suites, the test's own).
HEADROOM = 5
WAIT_SECONDS = 120


def race_callers(wanted: int, *, minimum: int = 16) -> int:
    """Return up to `wanted` callers, as many as the server can take; wait for `minimum` at least.

    An oversell proof with fewer than `minimum` callers proves too little: the test fails
    (after waiting for other clients to leave) rather than pass on a handful of threads.
    """
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        room = postgres_room()
        callers = min(wanted, room.free - HEADROOM)
        if callers >= minimum:
            return callers
        if time.monotonic() > deadline:
            pytest.fail(
                f"PostgreSQL has {room.free} free connections (max_connections {room.max_connections}, "
                f"{room.in_use} in use): a race needs at least {minimum + HEADROOM}."
            )
        time.sleep(2)


def run_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Start `count` threads at once (a barrier), each calling work(i); return results or exceptions."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def target(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # reported by the caller's assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
