"""Secret API keys, for merchants (`oms_…`) and nodes (`node_…`): `<scheme>_<prefix>_<secret>`.

Only a SHA-256 digest is stored and the key is shown once; the prefix finds the row, and the
digest is compared in constant time.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.utils import timezone

from oms.signatures import digests_match

# Recording every use would add a write to every request; minutes are precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def key_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_generate(scheme: str) -> tuple[str, str, str]:
    """Return (prefix, raw key, digest) for a new key."""
    prefix = secrets.token_hex(4)
    raw = f"{scheme}_{prefix}_{secrets.token_urlsafe(32)}"
    return prefix, raw, key_digest(raw)


def key_prefix(raw: str, scheme: str) -> str | None:
    """The prefix of a key of this scheme, or None when `raw` is not one."""
    parts = raw.split("_", 2)
    return parts[1] if len(parts) == 3 and parts[0] == scheme else None


def key_matches(digest: str, raw: str) -> bool:
    return digests_match(digest, key_digest(raw))


def key_mark_used(key: Any) -> None:
    """Stamp `last_used_at` on a key row, at most once per LAST_USED_RESOLUTION."""
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        type(key).objects.filter(pk=key.pk).update(last_used_at=now)
