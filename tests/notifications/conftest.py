"""Real local servers for the notification tests: an aiosmtpd SMTP server and an HTTP endpoint."""

from __future__ import annotations

import json
import queue
import socket
import threading
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpInbox:
    """What the local SMTP server received, as parsed MIME messages."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.arrived.set()
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes]

    def subjects(self) -> list[str]:
        return [m["Subject"] for m in self.messages]

    def one(self, subject_contains: str) -> EmailMessage:
        found = [m for m in self.messages if subject_contains in m["Subject"]]
        assert len(found) == 1, (subject_contains, self.subjects())
        return found[0]


@pytest.fixture
def smtp_server(settings):
    """An aiosmtpd server on a free local port; Django's SMTP backend points at it."""
    inbox = SmtpInbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_TIMEOUT = 5
    inbox.controller = controller  # type: ignore[attr-defined]
    yield inbox
    controller.stop()


def parts(message: EmailMessage) -> dict[str, str]:
    """The text/plain and text/html bodies of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative", message.get_content_type()
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that gave up (the timeout test) is expected, not news


class Endpoint:
    """A merchant's webhook endpoint: records each request, answers with the next status queued."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: queue.Queue[int] = queue.Queue()
        self.default_status = 200
        self.before_answer: Callable[[], None] | None = None  # runs before each answer (to hang)
        port = free_port()
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if endpoint.before_answer is not None:
                    endpoint.before_answer()
                endpoint.requests.append({"headers": self.headers, "body": body, "path": self.path})
                try:
                    status = endpoint.statuses.get_nowait()
                except queue.Empty:
                    status = endpoint.default_status
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"nope")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = QuietServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{port}/hooks/oms"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]

    def types(self) -> list[str]:
        return [e["type"] for e in self.events()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint():
    server = Endpoint()
    yield server
    server.close()


@pytest.fixture
def run_commits(django_capture_on_commit_callbacks):
    """Run what commits schedule (outbox dispatch, e-mail and webhook jobs) inside the test transaction."""

    def run(action, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return action(*args, **kwargs)

    return run
