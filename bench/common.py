"""What every benchmark shares: a PostgreSQL database of its own and a printed table.

Benchmarks run against PostgreSQL (BENCH_DATABASE_URL, default the local server's `oms_bench`
database, created and migrated here) and report each figure next to a ceiling measured in the
same run, so the ratio means something on any machine.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/oms_bench"


def setup_django() -> None:
    """Point Django at the benchmark database, create it if needed, migrate it."""
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "1")
    # The in-process benches fork their workers after using the database: a child would inherit
    # a psycopg pool whose threads did not survive the fork, and wait on it. Each worker is
    # single-threaded and needs one connection (bench/stack.py sets its own pool size).
    os.environ.setdefault("DB_POOL_MAX_SIZE", "0")
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    vacuum()


def vacuum() -> None:
    """VACUUM ANALYZE the bench database, as autovacuum would have done between runs.

    Autovacuum is off on the CI machine (PostgreSQL's conf.d/90-ci.conf), so every run used to
    start on the dead rows of the runs before it (the relay's claim once read 963 pages of dead
    index entries to find no event): runs compare only from the same clean start."""
    import psycopg

    with psycopg.connect(dsn(), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def dsn() -> str:
    """The bench database's libpq connection string, for the benches' bare psycopg connections."""
    from django.db import connection

    s = connection.settings_dict
    return f"host={s['HOST'] or '127.0.0.1'} port={s['PORT'] or 5432} dbname={s['NAME']} user={s['USER']}" + (
        f" password={s['PASSWORD']}" if s["PASSWORD"] else ""
    )


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(cells[0], widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return str(value)
