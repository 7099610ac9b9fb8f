from __future__ import annotations

from typing import Any

from rest_framework.permissions import BasePermission

from oms.api.authentication import MerchantClient


class IsMerchant(BasePermission):
    def has_permission(self, request: Any, view: Any) -> bool:
        return isinstance(request.user, MerchantClient)
