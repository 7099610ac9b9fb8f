"""Processes the suite starts (Celery workers, beat): started so they cannot outlive the test.

Each child leads its own process group and is sent SIGKILL by the kernel if the pytest process
dies (PR_SET_PDEATHSIG), so an interrupted or killed run leaves nothing behind either; stopping
one is SIGTERM (a worker finishes its task), then SIGKILL to its whole group after a grace
period, and a wait, so no zombie or stray remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(argv: list[str], *, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start `python -m <argv>` in the project directory, its output in `log`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *argv], cwd=Path(settings.BASE_DIR), env=dict(env), stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509 - no threads run Popen here
        )  # fmt: skip


def stop(process: subprocess.Popen[bytes], *, grace: float = 30) -> None:
    """SIGTERM, up to `grace` seconds to finish, then SIGKILL to the whole group; always reaped."""
    if process.poll() is None:
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    # Whatever is left in its group (or the process itself, past its grace) goes now.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@contextmanager
def running(
    argv: list[str], *, env: Mapping[str, str], log: Path, grace: float = 30
) -> Iterator[subprocess.Popen[bytes]]:
    """A child process for the `with` block, stopped (see stop()) however the block ends."""
    process = spawn(argv, env=env, log=log)
    try:
        yield process
    finally:
        stop(process, grace=grace)


def celery_worker_start(*, env: Mapping[str, str], log: Path, name: str, queues: str = "") -> subprocess.Popen[bytes]:
    """A real `celery -A oms worker` (solo pool), once it says it is ready; fails the test if it does not."""
    import pytest

    argv = ["celery", "-A", "oms", "worker", "--pool=solo", "--loglevel=INFO", "--without-gossip",
            "--without-mingle", "--without-heartbeat", "-n", name, *(["-Q", queues] if queues else [])]  # fmt: skip
    start = log.stat().st_size if log.exists() else 0
    process = spawn(argv, env=env, log=log)
    deadline = time.monotonic() + 60
    while "ready." not in log.read_text()[start:]:
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process, grace=0)
            pytest.fail(f"the Celery worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process
