"""HMAC signatures of the messages we send to nodes and receive from carriers.

Header: `X-OMS-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. The time is
signed too, so a captured message cannot be replayed outside the tolerance window.
"""

from __future__ import annotations

import hashlib
import hmac
import time

HEADER = "X-OMS-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_body_hmac(secret: str, header: str, body: bytes) -> bool:
    """EasyPost-style `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the raw body>` (no
    timestamp: a replay is harmless only because events are idempotent by id)."""
    if not secret or not header.startswith("hmac-sha256-hex="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("hmac-sha256-hex="))


def verify(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """Return whether `header` signs `body` with `secret` within the tolerance window."""
    if not secret or not header:
        return False
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    try:
        t = int(parts.get("t", ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - t) > TOLERANCE_SECONDS:
        return False
    expected = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))
