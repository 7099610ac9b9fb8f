"""Per-node API keys: `node_<prefix>_<secret>`, for a node's own system (a WMS)."""

from __future__ import annotations

from django.utils import timezone

from fulfillment.execution.models import NodeApiKey
from inventory.models import Node
from oms.keys import key_generate, key_mark_used, key_matches, key_prefix

SCHEME = "node"


def node_key_issue(*, node: Node, name: str = "wms") -> tuple[NodeApiKey, str]:
    """Create a key and return it with its raw value, which is never stored and shown once."""
    prefix, raw, digest = key_generate(SCHEME)
    return NodeApiKey.objects.create(node=node, name=name, prefix=prefix, digest=digest), raw


def node_key_revoke(*, key: NodeApiKey) -> None:
    NodeApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def node_key_authenticate(raw: str) -> NodeApiKey | None:
    """Return the active key matching `raw`, or None. Constant-time on the secret part."""
    prefix = key_prefix(raw, SCHEME)
    if prefix is None:
        return None
    key = NodeApiKey.objects.select_related("node").filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not key_matches(key.digest, raw):
        return None
    key_mark_used(key)
    return key
