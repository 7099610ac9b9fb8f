"""Find a stack's processes by ancestry (/proc), to kill the one a drill means."""

from __future__ import annotations

import os
from pathlib import Path


def descendants(pid: int) -> list[int]:
    """Every live process below `pid`."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _argv(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def program_pid(stack_pid: int, word: bytes) -> int | None:
    """The main process of run_stack's child whose command line has `word` (b"worker", b"gunicorn")."""
    for pid in descendants(stack_pid):
        # run_stack's children lead their process groups; their own workers do not.
        try:
            leader = os.getpgid(pid) == pid
        except ProcessLookupError:
            continue
        if leader and word in _argv(pid):
            return pid
    return None
