from __future__ import annotations

import os

from celery import Celery

import oms.broker  # noqa: F401  (registers the embedded broker's transport with kombu)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oms.settings")

app = Celery("oms")
# Threads (and tests) that have no current app fall back to the default one: make it ours, so
# @shared_task proxies never resolve to a stray fallback app with another broker.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
