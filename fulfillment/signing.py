"""HMAC signatures of the messages we send to nodes and receive from carriers.

Header: `X-OMS-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. The time is
signed too, so a captured message cannot be replayed outside the tolerance window.
"""

from __future__ import annotations

from oms.signatures import digests_match, hmac_hex, timestamped_sign, timestamped_verify

HEADER = "X-OMS-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    return timestamped_sign(secret, body, timestamp=timestamp)


def verify_body_hmac(secret: str, header: str, body: bytes) -> bool:
    """EasyPost-style `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the raw body>` (no
    timestamp: a replay is harmless only because events are idempotent by id)."""
    if not secret or not header.startswith("hmac-sha256-hex="):
        return False
    return digests_match(hmac_hex(secret, body), header.removeprefix("hmac-sha256-hex="))


def verify(secret: str, header: str, body: bytes, *, now: float | None = None) -> bool:
    """Return whether `header` signs `body` with `secret` within the tolerance window."""
    return timestamped_verify(secret, header, body, tolerance=TOLERANCE_SECONDS, now=now)
