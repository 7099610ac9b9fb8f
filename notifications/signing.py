"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret.

The header reads `OMS-Signature: t=<unix seconds>,v1=<hex digest>` (docs/NOTIFICATIONS.md shows
a receiver verifying it). The timestamp is signed too, so a captured request cannot be replayed
later with a fresh timestamp; receivers refuse timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "OMS-Signature"
TOLERANCE_SECONDS = 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """Return the value of the signature header for `body`."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"


def verify(
    secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is recent enough."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, value) for key, value in parts.items() if key == "v1")
