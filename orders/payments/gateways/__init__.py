"""Gateway adapters by code: settings.PAYMENT_GATEWAYS maps a code to a class path."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from orders.payments.gateways.base import Gateway, GatewayError, GatewayResult

__all__ = ["Gateway", "GatewayError", "GatewayResult", "gateway_codes", "gateway_get"]

DEFAULT_GATEWAYS = {
    "sandbox": "orders.payments.gateways.sandbox.SandboxGateway",
    "giftcard": "orders.payments.gateways.sandbox.GiftCardGateway",
    "channel": "orders.payments.gateways.sandbox.ChannelGateway",
}


def _registry() -> dict[str, str]:
    return {**DEFAULT_GATEWAYS, **getattr(settings, "PAYMENT_GATEWAYS", {})}


def gateway_codes() -> list[str]:
    return sorted(_registry())


def gateway_get(code: str) -> Gateway:
    """Return the adapter for a gateway code (KeyError for an unknown one)."""
    return import_string(_registry()[code])()
