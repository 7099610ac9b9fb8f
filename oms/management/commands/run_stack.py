"""Serve the OMS with a Celery worker and Celery beat beside it, supervised; Ctrl-C stops all three."""

from __future__ import annotations

import errno
import os
import signal
import socket
import sqlite3
import sys
from contextlib import closing
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from oms.dbsize import pool_size_for, postgres_room
from oms.demo import DEMO_API_KEY, DEMO_USERS
from oms.supervisor import Supervisor

HOST = "127.0.0.1"
WORKER_CONCURRENCY = 2


class Command(BaseCommand):
    help = "Run the web server (gunicorn), a Celery worker and Celery beat under supervision (PORT sets the port)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dev", action="store_true", help="Serve with Django's development server instead.")

    def handle(self, *args: Any, dev: bool = False, **options: Any) -> None:
        port = os.environ.get("PORT", "8000")
        _ensure_port_free(port)
        env = {**os.environ, "PORT": port}
        # The local demo speaks plain HTTP on 127.0.0.1: no HTTPS redirect or secure-only cookies
        # (the admin would not log in). Production runs behind TLS with the default, DJANGO_SECURE=1.
        env.setdefault("DJANGO_SECURE", "0")
        web_workers = 1 if dev else int(env.setdefault("WEB_CONCURRENCY", "4"))
        if not settings.EMBEDDED_DATABASE:
            env.setdefault("DB_POOL_MAX_SIZE", str(self._pool_size(web_workers)))
        if settings.EMBEDDED_BROKER:
            # WAL persists in the file: the worker's polling then never blocks the web's publishing.
            with closing(sqlite3.connect(settings.EMBEDDED_BROKER_FILE)) as broker:
                broker.execute("PRAGMA journal_mode=WAL")
        connection.close()
        supervisor = Supervisor(self._programs(port, dev), log=self._log, cwd=settings.BASE_DIR, env=env)
        # Ctrl-C (SIGINT) and SIGTERM stop the whole stack; the children sit in their own process
        # groups, so only we receive the terminal's Ctrl-C and we end them in order.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: supervisor.stop())
        self._banner(port)
        supervisor.run()
        self._log("stopped: web, worker and beat")

    def _programs(self, port: str, dev: bool) -> dict[str, list[str]]:
        python = sys.executable
        celery = [python, "-m", "celery", "-A", "oms"]
        # Channel pulls and pushes have their own queue (CELERY_TASK_ROUTES); this worker serves both.
        worker = [*celery, "worker", "--loglevel=INFO", f"--concurrency={WORKER_CONCURRENCY}", "-Q", "celery,channels"]
        if settings.EMBEDDED_BROKER:
            # An embedded broker serves one worker: nothing to mingle or gossip with.
            worker += ["--without-mingle", "--without-gossip", "--without-heartbeat"]
        if dev:
            web = [python, "manage.py", "runserver", f"{HOST}:{port}"]
        else:
            web = [python, "-m", "gunicorn", "-c", "python:oms.gunicorn_conf", "--bind", f"{HOST}:{port}", "oms.wsgi"]
        return {
            "web": web,
            "worker": worker,
            "beat": [*celery, "beat", "--loglevel=INFO"],
        }

    def _pool_size(self, web_workers: int) -> int:
        # Every web worker, worker pool process and beat holds a pool; the worker's parent one more.
        processes = web_workers + WORKER_CONCURRENCY + 2
        room = postgres_room()
        size = pool_size_for(processes=processes, free=room.free)
        if size < 1:
            raise CommandError(
                f"PostgreSQL has {room.free} free connections (max_connections {room.max_connections}, "
                f"{room.in_use} in use) and the stack needs at least {processes}: "
                "lower WEB_CONCURRENCY or raise max_connections."
            )
        return size

    def _log(self, message: str) -> None:
        self.stderr.write(f"[run_stack] {message}")

    def _mail(self) -> str:
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            return f"written as files to {settings.EMAIL_FILE_PATH} (set EMAIL_HOST to send by SMTP)"
        return f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"

    def _logins(self) -> str:
        present = set(get_user_model().objects.filter(username__in=DEMO_USERS).values_list("username", flat=True))
        if not present:
            return "    (none: `manage.py seed_demo --users` creates the demo logins)"
        return "\n".join(
            f"    {user:<10} / {password:<15} ({group})"
            for user, (password, group) in DEMO_USERS.items()
            if user in present
        )

    def _banner(self, port: str) -> None:
        base = f"http://{HOST}:{port}"
        self.stdout.write(
            f"""
OMS local demo on {base} (not a production setup: plain HTTP, demo data and published logins)
  Admin console : {base}/admin/
  Logins        :
{self._logins()}
  API docs      : {base}/api/docs/
  API token     : {DEMO_API_KEY}   (merchant 'demo')
  Try           : curl -H "Authorization: Bearer {DEMO_API_KEY}" {base}/api/v1/orders/
  Database      : {settings.DATABASES["default"]["NAME"]}
  Broker        : {settings.CELERY_BROKER_URL}
  E-mail        : {self._mail()}
A process that dies is restarted. Ctrl-C stops the web server, the worker and beat.
"""
        )


def _ensure_port_free(port: str) -> None:
    """Fail before starting anything when the port is taken, rather than serve nothing."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The same option gunicorn binds with: a port in TIME_WAIT counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, int(port)))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CommandError(
                    f"Port {port} on {HOST} is already in use (another `make run`?). "
                    f"Stop what uses it or choose another port: PORT=8001 make run"
                ) from None
            raise CommandError(f"Cannot listen on {HOST}:{port}: {exc}") from None
