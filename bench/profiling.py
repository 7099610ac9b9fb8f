"""Bench-only: cProfile every request and task of the HTTP bench's processes (BENCH_PROFILE_DIR).

Each web and worker process profiles its requests and tasks (not the time between them) and
writes its cumulative stats to `<dir>/<web|worker>-<pid>.prof` after every few of them; the
bench then sums them by area (`summary`). cProfile slows Python down, so a profiled run's
throughput is not a figure to report: it says where the time goes, not how much there is.
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import sysconfig
from collections import Counter
from pathlib import Path
from typing import Any

DUMP_EVERY = 20
ROOT = Path(__file__).resolve().parent.parent
STDLIB = sysconfig.get_paths()["stdlib"]

_state: dict[str, Any] = {}


def _start(**_: Any) -> None:
    _state["profiler"].enable()


def _stop(**_: Any) -> None:
    _state["profiler"].disable()
    _state["calls"] += 1
    if _state["calls"] % DUMP_EVERY == 0:
        # The pid now, not at install: Celery's pool processes are forked after Django starts.
        _state["profiler"].dump_stats(Path(_state["directory"]) / f"{_state['kind']}-{os.getpid()}.prof")


def install_from_env() -> None:
    """Profile this process if BENCH_PROFILE_DIR is set and it is a web or a worker process."""
    directory = os.environ.get("BENCH_PROFILE_DIR")
    program = " ".join(sys.argv)
    kind = "web" if "gunicorn" in program else "worker" if " worker" in program else None
    if directory and kind:
        install(directory, kind)


def install(directory: str, kind: str) -> None:
    from celery import signals as celery_signals
    from django.core import signals as request_signals

    _state.update(profiler=cProfile.Profile(), calls=0, directory=directory, kind=kind)
    if kind == "web":
        request_signals.request_started.connect(_start)
        request_signals.request_finished.connect(_stop)
    else:
        celery_signals.task_prerun.connect(_start)
        celery_signals.task_postrun.connect(_stop)


def _area(filename: str, function: str) -> str:
    """Where a function's own time goes: a library, one of our apps, or C code by its name."""
    if filename == "~":  # C functions: "<method 'execute' of 'psycopg...'>", "<built-in method ...>"
        for name in ("psycopg", "json", "select", "poll", "socket", "_pickle", "zlib"):
            if name in function:
                return f"C: {name}"
        return "C: other builtins"
    parts = Path(filename).parts
    if "site-packages" in parts:
        package = parts[parts.index("site-packages") + 1]
        if package == "django":
            return f"django.{parts[parts.index('django') + 1].removesuffix('.py')}"
        return package.removesuffix(".py")
    if filename.startswith(STDLIB):
        return "python stdlib"
    if filename.startswith(str(ROOT)):
        return f"our code: {Path(filename).relative_to(ROOT).parts[0]}"
    return "other"


def summary(
    directory: Path, kind: str, top: int = 12
) -> tuple[float, list[tuple[str, float]], list[tuple[str, float]]]:
    """Sum the profiles of `kind` (web, worker): total seconds profiled, own time by area and the
    functions with the most own time."""
    files = sorted(directory.glob(f"{kind}-*.prof"))
    if not files:
        return 0.0, [], []
    stats = pstats.Stats(*map(str, files))
    by_area: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    for (filename, line, function), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_area[_area(filename, function)] += own
        by_function[f"{Path(filename).name}:{line} {function}"] += own
    total = sum(by_area.values())
    return total, by_area.most_common(top), by_function.most_common(top)
