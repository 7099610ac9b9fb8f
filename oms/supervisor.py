"""Keep a set of child processes running, the way honcho or supervisord do.

A child that exits is restarted after a backoff that doubles with each quick failure (one that
ran less than `stable_after` seconds) and resets once a child has stayed up; every exit and
restart is logged. The other children keep running meanwhile. `stop()` (run_stack wires it to
Ctrl-C and SIGTERM) ends every child with its whole process group, so a worker's pool processes
or the web server's workers are never left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Program:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    quick_failures: int = 0
    restart_at: float | None = None
    restarts: int = 0
    exits: list[int] = field(default_factory=list)


def describe_exit(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exited with status {code}"


class Supervisor:
    def __init__(
        self,
        programs: Mapping[str, list[str]],
        *,
        log: Callable[[str], None],
        cwd: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        stable_after: float = 30.0,
        stop_timeout: float = 30.0,
    ) -> None:
        self.programs = {name: Program(name, list(argv)) for name, argv in programs.items()}
        self.log = log
        self.cwd = cwd
        self.env = dict(env) if env is not None else None
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self._stopping = threading.Event()

    def run(self, *, poll_interval: float = 0.2) -> None:
        """Start every program and keep them running until stop() is called; then end them all."""
        try:
            for program in self.programs.values():
                self._start(program)
            while not self._stopping.wait(poll_interval):
                now = time.monotonic()
                for program in self.programs.values():
                    self._tend(program, now)
        finally:
            self._stop_all()

    def stop(self) -> None:
        self._stopping.set()

    def pids(self) -> dict[str, int]:
        return {name: p.process.pid for name, p in self.programs.items() if p.process and p.process.poll() is None}

    def _start(self, program: Program) -> None:
        # Each child leads its own process group: the terminal's Ctrl-C reaches only us, and we
        # can end a child together with the processes it started.
        program.process = subprocess.Popen(program.argv, cwd=self.cwd, env=self.env, start_new_session=True)
        program.started_at = time.monotonic()
        program.restart_at = None

    def _tend(self, program: Program, now: float) -> None:
        if program.restart_at is not None:
            if now >= program.restart_at:
                program.restarts += 1
                self.log(f"{program.name}: restarting (restart {program.restarts})")
                self._start(program)
            return
        assert program.process is not None
        code = program.process.poll()
        if code is None:
            return
        program.exits.append(code)
        # Whatever the dead child left in its group (pool processes, web workers) goes with it.
        _kill_group(program.process.pid, signal.SIGKILL)
        ran = now - program.started_at
        program.quick_failures = program.quick_failures + 1 if ran < self.stable_after else 1
        delay = min(self.backoff_max, self.backoff_base * 2 ** (program.quick_failures - 1))
        program.restart_at = now + delay
        self.log(f"{program.name}: {describe_exit(code)} after {ran:.0f} s; restarting in {delay:g} s")

    def _stop_all(self) -> None:
        running = [p for p in self.programs.values() if p.process is not None and p.process.poll() is None]
        # SIGTERM to each child alone: it stops its own workers gracefully (a Celery worker
        # finishes its tasks); signalling the whole group would kill those mid-task.
        for program in running:
            program.process.terminate()  # type: ignore[union-attr]
        deadline = time.monotonic() + self.stop_timeout
        for program in running:
            process = program.process
            assert process is not None
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"{program.name}: did not stop in {self.stop_timeout:.0f} s; killing it")
        # Children that stopped may have left processes behind in their groups: none survives.
        for program in self.programs.values():
            if program.process is not None:
                _kill_group(program.process.pid, signal.SIGKILL)
                program.process.wait()


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
