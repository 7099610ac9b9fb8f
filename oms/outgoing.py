"""POSTs to endpoints our users configure (merchant webhooks, integrated nodes' systems).

Shared by the apps that keep outgoing rows and send them from a job, outside any transaction:
one POST that never raises and refuses private addresses unless the deployment allows them (an
endpoint someone types in must not reach the machine's own network), and the retry backoff.
"""

from __future__ import annotations

import ipaddress
import random
import socket
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone


@dataclass(frozen=True)
class PostResult:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str
    excerpt: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer, and a failure: endpoints must not redirect


_OPENER = urllib.request.build_opener(_NoRedirects)


def host_allowed(url: str, *, allow_private: bool) -> bool:
    """Whether every address the URL's host resolves to is public (or private ones are allowed)."""
    if allow_private:
        return True
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return True  # unresolvable: the POST fails and is retried like any other failure
    return all(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses)


def post(url: str, headers: dict[str, str], body: bytes, timeout: float, *, allow_private: bool) -> PostResult:
    """POST `body`; never raises. May run in a pool thread: no database access here."""
    started = timezone.now()
    clock = time.monotonic()
    status: int | None = None
    error = excerpt = ""
    try:
        if not host_allowed(url, allow_private=allow_private):
            raise ValueError("the endpoint resolves to a private address")
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with _OPENER.open(request, timeout=timeout) as response:
            status = response.status
            excerpt = response.read(500).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        status = exc.code
        excerpt = exc.read(500).decode("utf-8", "replace") if exc.fp else ""
        error = f"HTTP {exc.code}"
    except Exception as exc:  # timeouts, refused connections, TLS, DNS
        error = f"{type(exc).__name__}: {exc}"[:2000]
    return PostResult(started, int((time.monotonic() - clock) * 1000), status, error, excerpt)


def post_many(
    calls: list[tuple[str, dict[str, str], bytes]], *, timeout: float, allow_private: bool, concurrency: int
) -> list[PostResult]:
    """POST each (url, headers, body) at once from a small thread pool (one slow endpoint does
    not hold up the others); the results in the same order."""
    with ThreadPoolExecutor(max_workers=max(1, min(len(calls), concurrency))) as pool:
        return list(pool.map(lambda call: post(*call, timeout, allow_private=allow_private), calls))


def backoff(attempts: int, *, base: float, cap: float) -> timedelta:
    """The wait before the next try after `attempts` failures: doubling from `base` up to `cap`,
    with jitter so that endpoints that failed together are not retried together."""
    seconds = min(base * 2 ** (attempts - 1), cap)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto
