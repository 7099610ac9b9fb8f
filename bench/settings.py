"""Settings of the HTTP pipeline bench's deployment (bench/pipeline.py): production's, plus the
bench's one-INSERT ceiling endpoint and the statement counting (bench/statements.py). Never
used outside the bench."""

import os

from oms.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]  # noqa: F405  (last: after every app's ready())
ROOT_URLCONF = "bench.urls"

# An experiment (docs/PERFORMANCE.md): Celery's Django fixup closes a prefork worker's connection
# pool before and after every task unless CELERY_DB_REUSE_MAX is set; this sets it for the bench.
if os.environ.get("BENCH_CELERY_DB_REUSE_MAX"):
    CELERY_DB_REUSE_MAX = int(os.environ["BENCH_CELERY_DB_REUSE_MAX"])
