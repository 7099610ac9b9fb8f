"""gunicorn settings for `make run` (run_stack passes --bind) and for production alike."""

from __future__ import annotations

import os

import gunicorn.http.wsgi

# A few synchronous workers: each serves one request at a time with one database connection,
# and the listen backlog queues a burst (64 concurrent orders) instead of resetting it.
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
worker_class = "sync"
backlog = int(os.environ.get("WEB_BACKLOG", "2048"))
# A request that takes longer than this is killed (its worker is replaced); capture takes well
# under a second.
timeout = 60
graceful_timeout = 10
accesslog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'

# The Server header names no product or version (gunicorn offers no setting for it).
gunicorn.http.wsgi.SERVER = "oms"
