"""The soak: `make run` on the embedded default, a steady stream of orders, two worker kills.

`python -m drills.soak` (SOAK_MINUTES, default 30; SOAK_PORT, default 8100; one order every
SOAK_INTERVAL seconds, default 2). It starts `manage.py run_stack` exactly as `make run` does
(SQLite and the embedded broker, in a fresh folder), kills the Celery worker with SIGKILL at a
third and at two thirds of the time, then checks: the stack stayed up (every POST answered, no
5xx), no order waited more than a minute for its next step, `inventory_audit` is clean, and
SIGTERM (as Ctrl-C) leaves no process behind. Prints a table; exits non-zero on a failure.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drills.load import SKUS, order_body, post_order
from drills.processes import descendants, program_pid

ROOT = Path(__file__).resolve().parent.parent
# Steps the pipeline takes without waiting for time or a person (docs/STATE_MACHINES.md).
TRANSIENT = {"received", "validated", "ready"}
MAX_STEP_WAIT = timedelta(minutes=1)


def stack_env(var_dir: Path, port: int) -> dict[str, str]:
    """The environment of a fresh clone: no database or broker URL, nothing of this shell's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "CELERY_", "DJANGO_", "OMS_", "DB_"))}
    return {**env, "OMS_VAR_DIR": str(var_dir), "PORT": str(port), "DJANGO_SETTINGS_MODULE": "oms.settings"}


def main() -> None:
    minutes = float(os.environ.get("SOAK_MINUTES", "30"))
    port = int(os.environ.get("SOAK_PORT", "8100"))
    interval = float(os.environ.get("SOAK_INTERVAL", "2"))
    var_dir = Path(tempfile.mkdtemp(prefix="oms-soak-"))
    env = stack_env(var_dir, port)
    os.environ.clear()
    os.environ.update(env)
    python = sys.executable
    for step in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
        subprocess.run([python, "manage.py", *step], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    log = (var_dir / "stack.log").open("w")
    stack = subprocess.Popen([python, "manage.py", "run_stack"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    print(f"soak: {minutes:g} min on {base}, stack log {var_dir / 'stack.log'}", flush=True)

    import django

    django.setup()
    from oms.demo import DEMO_API_KEY

    answers: Counter[int] = Counter()
    failures: list[str] = []
    kills: list[str] = []
    started = time.monotonic()
    end = started + minutes * 60
    kill_at = [started + minutes * 20, started + minutes * 40]
    n = 0
    time.sleep(10)  # the stack starts
    while time.monotonic() < end:
        if kill_at and time.monotonic() >= kill_at[0]:
            kill_at.pop(0)
            pid = program_pid(stack.pid, b"worker")
            if pid:
                os.kill(pid, signal.SIGKILL)
                kills.append(f"{time.monotonic() - started:.0f} s (pid {pid})")
                print(f"soak: killed the worker (pid {pid})", flush=True)
        n += 1
        status, body = post_order(base, order_body(f"SOAK-{n}", sku=SKUS[n % len(SKUS)]), key=DEMO_API_KEY)
        answers[status] += 1
        if status not in (200, 201):
            failures.append(f"{status}: {str(body)[:200]}")
        time.sleep(interval)
    # Let the last orders take their steps, as they would have had the stream gone on.
    time.sleep(70)
    report = examine()
    audit = subprocess.run([python, "manage.py", "inventory_audit"], cwd=ROOT, env=env, capture_output=True, text=True)
    restarts = (var_dir / "stack.log").read_text().count("restarting (restart")
    stack.send_signal(signal.SIGTERM)
    stack.wait(timeout=120)
    time.sleep(1)
    left = descendants(stack.pid)
    rows = [
        ("minutes", f"{minutes:g}"),
        ("orders posted", str(n)),
        ("answers", str(dict(answers))),
        ("worker kills", ", ".join(kills) or "none"),
        ("restarts logged by run_stack", str(restarts)),
        ("orders by status", str(dict(report["statuses"]))),
        ("longest wait for a next step", f"{report['longest'].total_seconds():.1f} s"),
        ("orders that waited > 1 min", str(report["late"])),
        ("inventory_audit", "clean" if audit.returncode == 0 else audit.stdout.strip()[-300:]),
        ("processes left after SIGTERM", str(len(left))),
    ]
    print("\n| soak | result |\n| --- | --- |")
    for name, value in rows:
        print(f"| {name} | {value} |")
    for failure in failures[:10]:
        print("  ", failure)
    ok = set(answers) <= {200, 201} and report["late"] == 0 and audit.returncode == 0 and not left and len(kills) == 2
    sys.exit(0 if ok else 1)


def examine() -> dict:
    """For each soak order, the longest it sat in a transient state before its next step."""
    from orders.models import Order, OrderEvent

    now = datetime.now(UTC)
    orders = {o.pk: o for o in Order.objects.filter(external_id__startswith="SOAK-")}
    steps: dict[int, list[tuple[datetime, str, str]]] = {pk: [] for pk in orders}
    for event in OrderEvent.objects.filter(order_id__in=orders).exclude(to_status="").order_by("created_at", "pk"):
        steps[event.order_id].append((event.created_at, event.from_status, event.to_status))
    longest = timedelta(0)
    late = 0
    for pk, order in orders.items():
        since, state = order.created_at, "received"
        worst = timedelta(0)
        for at, _from, to in steps[pk]:
            if state in TRANSIENT:
                worst = max(worst, at - since)
            since, state = at, to
        if state in TRANSIENT:  # still waiting now
            worst = max(worst, now - since)
        longest = max(longest, worst)
        late += worst > MAX_STEP_WAIT
    return {"statuses": Counter(o.status for o in orders.values()), "longest": longest, "late": late}


if __name__ == "__main__":
    main()
