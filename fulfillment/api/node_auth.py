"""Who may call the node API: a merchant's key (its orders' fulfilment orders) or a node's own
key (every fulfilment order at that node, and nothing else in the API)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from fulfillment.execution.models import NodeApiKey
from fulfillment.execution.node_keys import SCHEME, node_key_authenticate
from inventory.models import Node
from oms.actors import Actor
from oms.api.authentication import ApiKeyAuthentication, MerchantClient
from oms.api.base import MerchantAPIView
from oms.models import Merchant


@dataclass
class NodeClient:
    """The authenticated caller when a node's own key is used (request.user)."""

    node: Node
    is_authenticated: bool = True
    is_staff: bool = False

    def __str__(self) -> str:
        return f"node {self.node.code}"


def _bearer(request: Any) -> str:
    header = authentication.get_authorization_header(request).decode(errors="replace").split()
    return header[1] if len(header) == 2 and header[0].lower() in ("bearer", "token") else ""


class NodeKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer node_…`; any other key is left to the merchant-key authentication."""

    def authenticate(self, request: Request) -> tuple[NodeClient, NodeApiKey] | None:
        raw = _bearer(request)
        if not raw.startswith(f"{SCHEME}_"):
            return None
        key = node_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked node key.")
        return NodeClient(key.node), key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'


class IsMerchantOrNode(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.user, MerchantClient | NodeClient)


class NodeAPIView(MerchantAPIView):
    """A merchant API view that a node's own key may call too, scoped to that node."""

    authentication_classes = [NodeKeyAuthentication, ApiKeyAuthentication]
    permission_classes = [IsMerchantOrNode]

    @property
    def scope(self) -> dict[str, Merchant | Node]:
        """The selector filter for the caller: its merchant, or its node."""
        user = self.request.user
        if isinstance(user, NodeClient):
            return {"node": user.node}
        return {"merchant": self.merchant}

    @property
    def actor(self) -> Actor:
        if isinstance(self.request.user, NodeClient):
            key: NodeApiKey = self.request.auth  # type: ignore[assignment]
            return Actor("api_key", f"node key {key.prefix} ({key.node.code})")
        return super().actor

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if _bearer(request).startswith(f"{SCHEME}_"):
            # Idempotency records belong to merchant keys (oms); a node's repeated action is
            # refused by the state machine instead (409), so the header is simply not honoured.
            request._request.META.pop("HTTP_IDEMPOTENCY_KEY", None)
            request._request.__dict__.pop("headers", None)
        super().initial(request, *args, **kwargs)
