"""HMAC-SHA256 signatures of the form `t=<unix time>,v1=<hex HMAC of "<t>.<raw body>">`, the one
scheme we sign webhooks to merchants and messages to nodes with, and accept from carriers.

Headers are attacker-chosen text: everything here refuses a malformed one with False, never an
exception (a 500 on an unauthenticated endpoint).
"""

from __future__ import annotations

import hashlib
import hmac
import time


def digests_match(expected: str, received: str) -> bool:
    """Compare in constant time, as bytes: compare_digest raises TypeError on a str holding
    non-ASCII characters, and a header may hold any."""
    return hmac.compare_digest(expected.encode(), received.encode("utf-8", "surrogateescape"))


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def timestamped_sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    return f"t={t},v1={hmac_hex(secret, f'{t}.'.encode() + body)}"


def timestamped_verify(secret: str, header: str, body: bytes, *, tolerance: int, now: float | None = None) -> bool:
    """Return whether one of the header's `v1` values signs `body` with `secret`, and its `t` is
    within `tolerance` seconds of now (the time is signed too, so a capture cannot be replayed)."""
    if not secret or not header:
        return False
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [value for key, value in pairs if key == "t"]
    # One t only; isdigit() alone would take non-ASCII digits, and the length keeps int() cheap.
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].isdigit() and len(stamps[0]) <= 12):
        return False
    t = int(stamps[0])
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    expected = hmac_hex(secret, f"{t}.".encode() + body)
    return any(digests_match(expected, value) for key, value in pairs if key == "v1")
