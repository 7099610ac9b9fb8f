from __future__ import annotations

import os

from celery import Celery
from celery.signals import task_postrun

import oms.broker  # noqa: F401  (registers the embedded broker's transport with kombu)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
# Threads (and tests) that have no current app fall back to the default one: make it ours, so
# @shared_task proxies never resolve to a stray fallback app with another broker.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def close_broken_connections(**_: object) -> None:
    """Connections outlive tasks (CELERY_DB_REUSE_MAX): one that a task found broken (the server
    restarted, the backend was terminated) is closed here, so the next task gets a new one."""
    from django.db import connections

    for conn in connections.all(initialized_only=True):
        if conn.errors_occurred and not conn.in_atomic_block:
            if conn.is_usable():
                conn.errors_occurred = False
            else:
                conn.close()
