"""Bench-only instrumentation: SQL statements and time per step of an order, in every process.

Installed by the bench app that `bench.settings` adds (the HTTP pipeline bench's web and worker
processes), never by the production settings. Each statement is counted under the innermost
step running when it was sent: the web request (`capture`, `ceiling`), the Celery task, the
order chain's steps (`step payment rule`, `step allocation`, `step release`) and each outbox
consumer (`consumer notifications.email`, ...). Statements are what Django's `CaptureQueriesContext` sees
(BEGIN, COMMIT and SAVEPOINTs included): Django logs each one to `django.db.backends` when a
connection's `force_debug_cursor` is on, and a handler here counts the records.

Each process keeps its counts and, after every request and task, adds them to one Redis hash
(BENCH_STATS_URL) that the bench reads; without that URL they stay in `local()` (the tests).
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

STATS_KEY = "bench:pipeline:stats"
# Fields of the hash: "<tag>|statements", "<tag>|sql_ms", "<tag>|calls", "<tag>|wall_ms".
FIELDS = ("statements", "sql_ms", "calls", "wall_ms")
UNTAGGED = "untagged"

_tags: list[str] = []
_counts: Counter[str] = Counter()
_installed: dict[str, Any] = {}
_open_blocks: list[Any] = []  # the tags opened by a request's or a task's start signal
_redis: Any = None


class _StatementCounter(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        tag = _tags[-1] if _tags else UNTAGGED
        _counts[f"{tag}|statements"] += 1
        _counts[f"{tag}|sql_ms"] += getattr(record, "duration", 0.0) * 1000


@contextmanager
def tagged(tag: str) -> Iterator[None]:
    """Count the statements sent inside the block under `tag` (unless a nested tag takes them)."""
    _tags.append(tag)
    start = time.perf_counter()
    try:
        yield
    finally:
        _tags.pop()
        _counts[f"{tag}|calls"] += 1
        _counts[f"{tag}|wall_ms"] += (time.perf_counter() - start) * 1000


def local() -> dict[str, dict[str, float]]:
    """This process's counts not yet flushed, by tag."""
    return _by_tag(_counts)


def reset() -> None:
    _counts.clear()


def read(client: Any) -> dict[str, dict[str, float]]:
    """What every process flushed to the Redis hash, by tag."""
    return _by_tag({k.decode(): float(v) for k, v in client.hgetall(STATS_KEY).items()})


def _by_tag(flat: dict[str, float]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for key, value in flat.items():
        tag, _, field = key.rpartition("|")
        out.setdefault(tag, dict.fromkeys(FIELDS, 0.0))[field] += value
    return out


def flush(**_: Any) -> None:
    if _redis is None or not _counts:
        return
    pipe = _redis.pipeline(transaction=False)
    for key, value in _counts.items():
        pipe.hincrbyfloat(STATS_KEY, key, value)
    pipe.execute()
    _counts.clear()


def _wrap(tag: str, func: Callable[..., Any]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        with tagged(tag):
            return func(*args, **kwargs)

    return run


def _debug_cursor(*, connection: Any, **_: Any) -> None:
    connection.force_debug_cursor = True  # Django then logs every statement, BEGIN/COMMIT too


def _request_tag(environ: dict[str, Any]) -> str:
    path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
    if method == "POST" and path == "/api/v1/orders/":
        return "capture"
    if path.startswith("/bench/ceiling/"):
        return "ceiling"
    return f"web {method} {path}"


# Signal receivers: a request or a task opens its tag; its end closes it and flushes.
def _request_started(*, environ: dict[str, Any], **_: Any) -> None:
    _open(_request_tag(environ))


def _task_prerun(*, task: Any, **_: Any) -> None:
    _open(f"task {task.name.rsplit('.', 1)[-1]}")


def _open(tag: str) -> None:
    block = tagged(tag)
    block.__enter__()
    _open_blocks.append(block)


def _close(**_: Any) -> None:
    if _open_blocks:
        _open_blocks.pop().__exit__(None, None, None)
    if not _open_blocks:  # an eager task inside a request flushes with the request
        flush()


def _run_consumer(event: Any, c: Any) -> Any:
    with tagged(f"consumer {c.name}"):
        return _installed["outbox_run"](event, c)


def install(*, stats_url: str | None = None) -> None:
    """Count statements by step in this process (idempotent); flush to `stats_url` if given."""
    global _redis
    if _installed:
        return
    from celery import signals as celery_signals
    from django.core import signals as request_signals
    from django.db.backends.signals import connection_created

    from oms import outbox
    from orders import chain

    if stats_url:
        import redis

        _redis = redis.Redis.from_url(stats_url)
    db_logger = logging.getLogger("django.db.backends")
    handler = _StatementCounter()
    _installed.update(logger_state=(db_logger.level, db_logger.propagate), handler=handler)
    db_logger.addHandler(handler)
    db_logger.setLevel(logging.DEBUG)
    db_logger.propagate = False  # the records are for counting, not for the console
    connection_created.connect(_debug_cursor)
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        conn.force_debug_cursor = True
    request_signals.request_started.connect(_request_started)
    request_signals.request_finished.connect(_close)
    celery_signals.task_prerun.connect(_task_prerun)
    celery_signals.task_postrun.connect(_close)
    # The chain's steps and the relay's consumers are registered by the apps' ready(): wrap them
    # where the chain and the relay look them up.
    # One wrapped step per step, not per status: the chain stops when a status maps to the
    # step that just ran (identity).
    _installed["steps"] = dict(chain._steps)
    wrapped = {id(s): replace(s, run=_wrap(f"step {s.name}", s.run)) for s in chain._steps.values()}
    chain._steps.update({status: wrapped[id(s)] for status, s in chain._steps.items()})
    _installed["outbox_run"] = outbox._run
    outbox._run = _run_consumer


def uninstall() -> None:
    """Undo install() (the tests)."""
    global _redis
    if not _installed:
        return
    from celery import signals as celery_signals
    from django.core import signals as request_signals
    from django.db import connections
    from django.db.backends.signals import connection_created

    from oms import outbox
    from orders import chain

    db_logger = logging.getLogger("django.db.backends")
    db_logger.removeHandler(_installed["handler"])
    db_logger.level, db_logger.propagate = _installed["logger_state"]
    connection_created.disconnect(_debug_cursor)
    for conn in connections.all(initialized_only=True):
        conn.force_debug_cursor = False
    request_signals.request_started.disconnect(_request_started)
    request_signals.request_finished.disconnect(_close)
    celery_signals.task_prerun.disconnect(_task_prerun)
    celery_signals.task_postrun.disconnect(_close)
    chain._steps.clear()
    chain._steps.update(_installed["steps"])
    outbox._run = _installed["outbox_run"]
    _installed.clear()
    _open_blocks.clear()
    _redis = None
    reset()


def install_from_env() -> None:
    """What bench.settings' app does in each process of the deployment."""
    install(stats_url=os.environ.get("BENCH_STATS_URL") or None)
