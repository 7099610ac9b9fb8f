"""The HTTP bench's load client: a fixed number of threads posting prepared JSON bodies as fast
as the server answers (closed loop), over one urllib3 connection pool."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import urllib3


@dataclass
class Load:
    # Per request, in the order the bodies were given: when it was sent (wall clock, to compare
    # with the database's timestamps), how long its answer took, and the answer's "number".
    sent_at: list[float] = field(default_factory=list)
    latency: list[float] = field(default_factory=list)
    numbers: list[str | None] = field(default_factory=list)
    answers: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.answers.items() if 200 <= status < 300)

    def ok_latencies(self) -> list[float]:
        return [lat for lat, number in zip(self.latency, self.numbers, strict=True) if number is not None]


def post_all(url: str, bodies: list[bytes], *, clients: int, headers: dict[str, str] | None = None) -> Load:
    """POST every body to `url` from `clients` threads at once; return what came back."""
    parts = urlsplit(url)
    pool = urllib3.HTTPConnectionPool(
        parts.hostname, parts.port, maxsize=clients, block=True, retries=False, timeout=urllib3.Timeout(60)
    )
    head = {"Content-Type": "application/json", **(headers or {})}
    load = Load(sent_at=[0.0] * len(bodies), latency=[0.0] * len(bodies), numbers=[None] * len(bodies))
    lock = threading.Lock()
    indexes = itertools.count()

    def client() -> None:
        while (i := next(indexes)) < len(bodies):
            load.sent_at[i] = time.time()
            start = time.perf_counter()
            try:
                response = pool.request("POST", parts.path, body=bodies[i], headers=head)
            except urllib3.exceptions.HTTPError as exc:
                with lock:
                    load.answers[0] += 1
                    load.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            load.latency[i] = time.perf_counter() - start
            if response.status in (200, 201):
                load.numbers[i] = str(json.loads(response.data).get("number", "") or i)
            with lock:
                load.answers[response.status] += 1
                if response.status >= 300 and len(load.errors) < 5:
                    load.errors.append(f"{response.status}: {response.data[:300]!r}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    load.seconds = time.perf_counter() - start
    pool.close()
    return load
