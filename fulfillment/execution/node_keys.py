"""Per-node API keys: `node_<prefix>_<secret>`, for a node's own system (a WMS)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.utils import timezone

from fulfillment.execution.models import NodeApiKey
from inventory.models import Node

SCHEME = "node"
_LAST_USED_RESOLUTION = timedelta(minutes=5)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def node_key_issue(*, node: Node, name: str = "wms") -> tuple[NodeApiKey, str]:
    """Create a key and return it with its raw value, which is never stored and shown once."""
    prefix = secrets.token_hex(4)
    raw = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
    return NodeApiKey.objects.create(node=node, name=name, prefix=prefix, digest=_digest(raw)), raw


def node_key_revoke(*, key: NodeApiKey) -> None:
    NodeApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def node_key_authenticate(raw: str) -> NodeApiKey | None:
    """Return the active key matching `raw`, or None. Constant-time on the secret part."""
    parts = raw.split("_", 2)
    if len(parts) != 3 or parts[0] != SCHEME:
        return None
    key = NodeApiKey.objects.select_related("node").filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.digest, _digest(raw)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > _LAST_USED_RESOLUTION:
        NodeApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
