"""Webhook signatures: HMAC-SHA256 over "<timestamp>.<body>" with the subscription's secret.

The header reads `OMS-Signature: t=<unix seconds>,v1=<hex digest>` (docs/NOTIFICATIONS.md shows
a receiver verifying it). The timestamp is signed too, so a captured request cannot be replayed
later with a fresh timestamp; receivers refuse timestamps older than a few minutes.
"""

from __future__ import annotations

from oms.signatures import timestamped_sign, timestamped_verify

HEADER = "OMS-Signature"
TOLERANCE_SECONDS = 300


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """Return the value of the signature header for `body`."""
    return timestamped_sign(secret, body, timestamp=timestamp)


def verify(
    secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None
) -> bool:
    """True when `header` signs `body` with `secret` and its timestamp is recent enough."""
    return timestamped_verify(secret, header, body, tolerance=tolerance, now=now)
