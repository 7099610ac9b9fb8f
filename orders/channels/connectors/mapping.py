"""What every connector's mapping shares: addresses, options, SKUs, the payment."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import phonenumbers
from django.utils.dateparse import parse_datetime

from orders.channels.connectors.base import body_hash, signature_matches
from orders.channels.models import ChannelConnection, ChannelSkuMap
from orders.models import ServiceLevel


def text(value: Any, limit: int = 200) -> str:
    return "" if value is None else str(value).strip()[:limit]


def phone_or_blank(raw: Any, country: str | None) -> str:
    """Channels send phones in any shape: keep a valid one, drop one that is not (never reject an order for it)."""
    if not raw:
        return ""
    try:
        number = phonenumbers.parse(str(raw), country or None)
    except phonenumbers.NumberParseException:
        return ""
    return str(raw).strip() if phonenumbers.is_valid_number(number) else ""


def address(
    *,
    first_name: Any,
    last_name: Any,
    line1: Any,
    line2: Any = "",
    city: Any = "",
    region: Any = "",
    postal_code: Any = "",
    country: Any = "",
    company: Any = "",
    phone: Any = "",
) -> dict[str, str] | None:
    """The capture API's address; None when the platform sent none."""
    if not any((first_name, last_name, line1, city, country)):
        return None
    out = {
        "first_name": text(first_name, 100),
        "last_name": text(last_name, 100),
        "company": text(company, 100),
        "line1": text(line1),
        "line2": text(line2),
        "city": text(city, 100),
        "region": text(region, 50),
        "postal_code": text(postal_code, 20),
        "country": text(country, 2).upper(),
    }
    kept = phone_or_blank(phone, out["country"])
    if kept:
        out["phone"] = kept
    return out


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 time; one without an offset is UTC (WooCommerce's *_gmt fields)."""
    if not value:
        return None
    parsed = parse_datetime(str(value))
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def amount(value: Decimal) -> str:
    return str(value)


def units_by_sku(lines: list[dict[str, Any]]) -> dict[str, int]:
    """[{"sku", "quantity"}, ...] (an event's lines) as units per SKU."""
    units: dict[str, int] = {}
    for line in lines:
        units[line["sku"]] = units.get(line["sku"], 0) + int(line["quantity"])
    return units


class Options:
    """A connection's mapping options with their defaults (docs/CHANNELS.md)."""

    def __init__(self, connection: ChannelConnection) -> None:
        self.raw: dict[str, Any] = connection.options or {}
        self.kind = connection.kind
        self.channel_code = connection.channel.code

    @property
    def sku_field(self) -> str:
        return str(self.raw.get("sku_field", "sku"))  # "sku" or "variant_id"

    @property
    def tax_included_in_prices(self) -> bool:
        return self.raw.get("tax_handling") == "included"

    @property
    def tracking_url_template(self) -> str:
        """E.g. `https://track.example/{carrier}/{tracking_number}`; else the carrier's own page when known."""
        return str(self.raw.get("tracking_url_template", ""))

    @property
    def gateway(self) -> str:
        return str(self.raw.get("payment_gateway", "channel"))

    def service_level(self, shipping_code: str) -> str:
        level = (self.raw.get("service_levels") or {}).get(shipping_code) or self.raw.get("service_level")
        return str(level) if level in ServiceLevel.values else ServiceLevel.STANDARD

    @property
    def locations(self) -> dict[str, list[str]]:
        """Platform location id -> the OMS node codes whose stock it offers."""
        return {str(k): list(v) for k, v in (self.raw.get("locations") or {}).items()}

    def payment(self, *, captured: bool, name: str, total: Decimal) -> dict[str, str]:
        # The token names the channel's order; the channel took the money (docs/CHANNELS.md).
        return {
            "transaction_type": "capture" if captured else "authorize",
            "gateway": self.gateway,
            "token": f"{self.kind}:{name}"[:255],
            "amount": amount(total),
        }


class SkuLookup:
    """Resolve the SKU of a platform line: its own SKU, or the map by variant id."""

    def __init__(self, connection: ChannelConnection, options: Options) -> None:
        self.connection = connection
        self.by_variant_only = options.sku_field == "variant_id"
        self._variants: dict[str, str] | None = None

    def resolve(self, *, sku: Any, variant_id: Any) -> str:
        variant = text(variant_id, 40)
        if sku and not self.by_variant_only:
            return text(sku, 64)
        if self._variants is None:
            self._variants = dict(
                ChannelSkuMap.objects.filter(connection=self.connection)
                .exclude(variant_id="")
                .values_list("variant_id", "sku")
            )
        return self._variants.get(variant, "") if variant and variant != "0" else text(sku, 64)


class PlatformConnector:
    """What the connectors share: their options, the SKU lookup and signed webhooks."""

    signature_header = ""  # base64 HMAC-SHA256 of the raw body with the webhook secret
    delivery_header = ""  # the platform's id of one webhook delivery

    def __init__(self, connection: ChannelConnection, credentials: dict[str, str]) -> None:
        self.connection = connection
        self.options = Options(connection)
        self.skus = SkuLookup(connection, self.options)
        self.secret = credentials.get("webhook_secret", "")

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> bool:
        return bool(self.signature_header) and signature_matches(self.secret, body, headers.get(self.signature_header))

    def webhook_id(self, *, body: bytes, headers: Mapping[str, str]) -> str:
        return text(headers.get(self.delivery_header), 100) or body_hash(body)
