from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from oms.models import ApiKey, Merchant
from oms.tenancy import api_key_authenticate


@dataclass
class MerchantClient:
    """The authenticated caller of the merchant API (request.user)."""

    merchant: Merchant
    is_authenticated: bool = True
    is_staff: bool = False

    def __str__(self) -> str:
        return f"merchant {self.merchant.code}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <key>` (or `Token <key>`)."""

    keywords = ("bearer", "token")

    def authenticate(self, request: Request) -> tuple[MerchantClient, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode(errors="replace").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Malformed Authorization header.")
        key = api_key_authenticate(header[1])
        if key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        return MerchantClient(key.merchant), key

    def authenticate_header(self, request: Any) -> str:
        return 'Bearer realm="api"'
