"""Serve the OMS with a Celery worker and Celery beat beside it; Ctrl-C stops all three."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from oms.demo import DEMO_API_KEY, DEMO_USERS


class Command(BaseCommand):
    help = "Run the web server, a Celery worker and Celery beat (PORT sets the port)."

    def handle(self, *args: Any, **options: Any) -> None:
        port = os.environ.get("PORT", "8000")
        python = sys.executable
        commands = {
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "oms",
                "worker",
                "--loglevel=INFO",
                "--concurrency=2",
                "-Q",
                "celery,channels",
            ],
            "beat": [python, "-m", "celery", "-A", "oms", "beat", "--loglevel=INFO"],
            "web": [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        }
        # A supervisor's SIGTERM stops the stack as cleanly as Ctrl-C does.
        signal.signal(signal.SIGTERM, signal.default_int_handler)
        processes = {name: subprocess.Popen(cmd, cwd=settings.BASE_DIR) for name, cmd in commands.items()}
        self._banner(port)
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            stopped = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(stopped)} stopped; shutting the rest down.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping…")
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in processes.values():
                try:
                    p.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    p.kill()

    def _mail(self) -> str:
        if settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
            return f"written as files to {settings.EMAIL_FILE_PATH} (set EMAIL_HOST to send by SMTP)"
        return f"SMTP {settings.EMAIL_HOST}:{settings.EMAIL_PORT}"

    def _banner(self, port: str) -> None:
        base = f"http://127.0.0.1:{port}"
        logins = "\n".join(
            f"    {user:<10} / {password:<15} ({group})" for user, (password, group) in DEMO_USERS.items()
        )
        self.stdout.write(
            f"""
OMS is starting on {base}
  Admin console : {base}/admin/
  Logins        :
{logins}
  API docs      : {base}/api/docs/
  API token     : {DEMO_API_KEY}   (merchant 'demo')
  Try           : curl -H "Authorization: Bearer {DEMO_API_KEY}" {base}/api/v1/orders/
  Database      : {settings.DATABASES["default"]["NAME"]}
  Broker        : {settings.CELERY_BROKER_URL}
  E-mail        : {self._mail()}
Ctrl-C stops the web server, the worker and beat.
"""
        )
