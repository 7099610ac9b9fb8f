"""run_stack's supervisor: children that die come back, with backoff; stopping leaves nothing running."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from oms.supervisor import Supervisor

SLEEPER = [sys.executable, "-c", "import time; time.sleep(600)"]
FAILING = [sys.executable, "-c", "raise SystemExit(3)"]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie that nobody has reaped yet is not running either.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@contextmanager
def supervising(programs: dict[str, list[str]], **options: float) -> Iterator[tuple[Supervisor, list[str]]]:
    log: list[str] = []
    supervisor = Supervisor(programs, log=log.append, **options)
    thread = threading.Thread(target=supervisor.run, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        wait_until(lambda: len(supervisor.pids()) == len(programs) or bool(log))
        yield supervisor, log
    finally:
        supervisor.stop()
        thread.join(timeout=30)
        assert not thread.is_alive()


def test_it_restarts_a_killed_child_and_logs_it_while_the_others_keep_running():
    with supervising({"web": SLEEPER, "worker": SLEEPER}, backoff_base=0.2) as (supervisor, log):
        before = supervisor.pids()
        os.kill(before["worker"], signal.SIGKILL)
        wait_until(lambda: supervisor.pids().get("worker") not in (None, before["worker"]))
        after = supervisor.pids()
        assert after["web"] == before["web"]  # untouched
        assert alive(after["worker"])
        assert log[0].startswith("worker: killed by SIGKILL after 0 s; restarting in 0.2 s")
        assert log[1] == "worker: restarting (restart 1)"


def test_it_backs_off_more_on_each_quick_failure():
    with supervising({"flaky": FAILING}, backoff_base=0.1, backoff_max=0.4) as (supervisor, log):
        wait_until(lambda: supervisor.programs["flaky"].restarts >= 4)
        delays = [line.rsplit("restarting in ", 1)[1] for line in log if "exited with status 3" in line]
        assert delays[:4] == ["0.1 s", "0.2 s", "0.4 s", "0.4 s"]


def test_a_child_that_ran_long_enough_restarts_without_backoff():
    program = [sys.executable, "-c", "import time; time.sleep(0.5); raise SystemExit(1)"]
    with supervising({"job": program}, backoff_base=0.1, stable_after=0.3) as (supervisor, log):
        wait_until(lambda: supervisor.programs["job"].restarts >= 3)
        delays = {line.rsplit("restarting in ", 1)[1] for line in log if "exited with status 1" in line}
        assert delays == {"0.1 s"}


def test_stopping_ends_every_child_and_what_they_started(tmp_path):
    # A child that starts a grandchild which ignores SIGTERM, as a pool process busy in a task might.
    pidfile = tmp_path / "grandchild.pid"
    spawner = [
        sys.executable, "-c",
        "import signal, subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"  # noqa: E501
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)",
    ]  # fmt: skip
    with supervising({"web": SLEEPER, "worker": spawner}, stop_timeout=2) as (supervisor, _log):
        wait_until(lambda: pidfile.exists() and pidfile.read_text() != "")
        pids = [*supervisor.pids().values(), int(pidfile.read_text())]
        assert all(alive(pid) for pid in pids)
    wait_until(lambda: not any(alive(pid) for pid in pids), timeout=10)


def test_when_a_child_dies_what_it_started_goes_with_it(tmp_path):
    pidfile = tmp_path / "grandchild.pid"
    spawner = [
        sys.executable, "-c",
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "time.sleep(600)",
    ]  # fmt: skip
    with supervising({"worker": spawner}, backoff_base=5) as (supervisor, _log):
        wait_until(lambda: pidfile.exists() and pidfile.read_text() != "")
        orphan = int(pidfile.read_text())
        os.kill(supervisor.pids()["worker"], signal.SIGKILL)
        wait_until(lambda: not alive(orphan), timeout=10)
