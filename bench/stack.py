"""The HTTP bench's deployment on this machine: gunicorn (oms/gunicorn_conf.py) and a Celery
worker and beat, started as `manage.py run_stack` starts them, on the bench database and a Redis
broker, with `bench.settings` (the ceiling endpoint and the statement counting).

The broker is a private redis-server started with the deployment (unless BENCH_BROKER_URL names
one): the shared server's numbered databases are emptied (FLUSHDB) by test suites whose
database names hash to them (tests/conftest.py), which took a bench's queued jobs and counts.

Also the CPU each part used: from /proc, for the process trees started here, PostgreSQL's
backends serving the bench database, this process (the load client) and the whole machine.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from drills.processes import descendants

HOST = "127.0.0.1"
TICK = os.sysconf("SC_CLK_TCK")


@dataclass
class Deployment:
    base_url: str
    broker_url: str
    processes: dict[str, subprocess.Popen[bytes]]
    logs: Path

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@contextmanager
def deployment(
    *, web: int, workers: int, database_url: str, logs: Path, broker_url: str | None = None
) -> Iterator[Deployment]:
    """Start a redis-server (unless given `broker_url`), a Celery worker of `workers` processes,
    beat and `web` gunicorn workers; stop them all, in the reverse order, on exit."""
    port, redis_port = _free_port(), _free_port()
    programs: dict[str, list[str]] = {}
    if broker_url is None:
        if not shutil.which("redis-server"):
            raise RuntimeError("redis-server is not installed: install it, or name a broker in BENCH_BROKER_URL")
        broker_url = f"redis://{HOST}:{redis_port}/0"
        programs["redis"] = [
            "redis-server",
            "--bind",
            HOST,
            "--port",
            str(redis_port),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url,
        "BENCH_STATS_URL": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DJANGO_SECURE": "0",
        "WEB_CONCURRENCY": str(web),
        # One connection per process is all a sync web worker or a prefork child uses.
        "DB_POOL_MAX_SIZE": "2",
        "OMS_VAR_DIR": str(logs),
    }
    python = sys.executable
    celery = [python, "-m", "celery", "-A", "oms"]
    # A shared Redis server's pub/sub is not per database: no gossip or mingling with others.
    node = ["-n", f"bench-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat"]
    programs["worker"] = [*celery, "worker", "--loglevel=INFO", f"--concurrency={workers}", "-Q", "celery,channels",
                          *node]  # fmt: skip
    programs["beat"] = [*celery, "beat", "--loglevel=INFO"]
    programs["web"] = [python, "-m", "gunicorn", "-c", "python:oms.gunicorn_conf", "--bind", f"{HOST}:{port}",
                       "oms.wsgi"]  # fmt: skip
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, argv in programs.items():
            with (logs / f"{name}.log").open("w") as out:
                processes[name] = subprocess.Popen(
                    argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            if name == "redis":
                _wait(partial(_redis_answers, broker_url), Deployment("", broker_url, processes, logs), "redis")
        found = Deployment(f"http://{HOST}:{port}", broker_url, processes, logs)
        _wait(lambda: _answers(f"{found.base_url}/healthz"), found, "the web server")
        _wait(lambda: " ready." in found.log("worker"), found, "the worker")
        yield found
    finally:
        _stop(processes)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url).ping())
    except redis.ConnectionError:
        return False


def _wait(condition: Any, found: Deployment, what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        for name, process in found.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited while waiting for {what}:\n{found.log(name)[-3000:]}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _stop(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each program, the last started first (gunicorn and Celery shut down gracefully),
    then kill whatever of its process group is left."""
    for process in reversed(processes.values()):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # its own group (start_new_session)
        process.wait()


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _machine_busy() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / TICK


def cpu_snapshot(found: Deployment, backend_pids: list[int]) -> dict[str, dict[int, float]]:
    """CPU seconds so far of each part, by process (the difference of two says what each used)."""
    snapshot = {
        name: {pid: _cpu(pid) for pid in [process.pid, *descendants(process.pid)]}
        for name, process in found.processes.items()
    }
    snapshot["postgres"] = {pid: _cpu(pid) for pid in backend_pids}
    times = os.times()
    snapshot["load client (this process)"] = {0: times.user + times.system}
    snapshot["machine"] = {0: _machine_busy()}
    return snapshot


def cpu_used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
    """CPU seconds each part used between two snapshots (a process born in between counts from 0)."""
    return {
        name: sum(seconds - before.get(name, {}).get(pid, 0.0) for pid, seconds in pids.items())
        for name, pids in after.items()
    }
