"""Settings of the HTTP pipeline bench's deployment (bench/pipeline.py): production's, plus the
bench's one-INSERT ceiling endpoint and the statement counting (bench/statements.py). Never
used outside the bench."""

from oms.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "bench.apps.BenchConfig"]  # noqa: F405  (last: after every app's ready())
ROOT_URLCONF = "bench.urls"
