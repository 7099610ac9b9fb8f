"""The connector interface every platform implements, and the HTTP plumbing they share."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

import requests
from django.conf import settings

from oms.signatures import digests_match
from orders.channels.models import ChannelConnection


class ChannelError(Exception):
    """The platform could not be reached or answered with an error."""


class Rejected(ChannelError):
    """The platform understood the request and refused it (a 4xx other than 429): retrying will not help."""


class RateLimited(ChannelError):
    """The platform asks us to wait: the channel pauses this long, the worker moves on."""

    def __init__(self, retry_after: float):
        super().__init__(f"rate-limited; retry after {retry_after:g} s")
        self.retry_after = retry_after


@dataclass
class Mapped:
    """One platform order mapped to the capture input, with what the connector learned."""

    external_id: str
    name: str
    data: dict[str, Any]  # the body the REST API's OrderIn would receive
    updated_at: datetime | None = None
    cancelled: bool = False
    # sku -> {"product_id", "variant_id", "inventory_item_id"} as seen on this order.
    learned: dict[str, dict[str, str]] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)  # mapping problems: a rejection
    # Units per SKU as the order stands on the channel now (after edits), where the platform
    # says so apart from the lines captured (Shopify's current_quantity); else from the lines.
    current: dict[str, int] | None = None

    def units(self) -> dict[str, int]:
        if self.current is not None:
            return self.current
        units: dict[str, int] = {}
        for line in self.data.get("lines") or []:
            if line.get("sku"):
                units[line["sku"]] = units.get(line["sku"], 0) + int(line.get("quantity") or 0)
        return units


@dataclass(frozen=True)
class Listing:
    """One sellable item on the platform, from a product sync."""

    sku: str
    product_id: str
    variant_id: str = ""
    inventory_item_id: str = ""


@dataclass
class Page:
    items: list[dict[str, Any]]  # orders, or products in a product sync
    has_more: bool


@dataclass(frozen=True)
class StockLevel:
    sku: str
    location: str  # the platform's location id ("" where the platform has none)
    available: int


@dataclass(frozen=True)
class Tracking:
    order_external_id: str
    order_name: str
    number: str
    company: str
    url: str
    lines: list[dict[str, Any]]
    complete: bool = True  # nothing of the order is left to ship after this shipment


class Connector(Protocol):
    """What a platform connector does. Pages are ordered by last change, oldest first, so the
    cursor may advance past a page once its orders are committed."""

    def pull(self, *, since: datetime | None) -> Iterator[Page]: ...

    def map_order(self, raw: dict[str, Any]) -> Mapped: ...

    def listings(self) -> Iterator[Listing]: ...

    def verify_webhook(self, *, body: bytes, headers: Mapping[str, str]) -> bool: ...

    def webhook_id(self, *, body: bytes, headers: Mapping[str, str]) -> str: ...

    def push_availability(self, levels: list[StockLevel]) -> None: ...

    def push_fulfillment(self, tracking: Tracking) -> None: ...

    def push_cancellation(self, *, external_id: str, reason: str) -> None: ...

    def push_line_cancellation(self, *, external_id: str, lines: list[dict[str, Any]], reason: str) -> None: ...

    def push_refund(self, *, external_id: str, amount: Decimal, currency: str, reason: str) -> None: ...

    def push_capture(self, *, external_id: str, amount: Decimal, currency: str) -> None: ...


def hmac_base64(secret: str, body: bytes) -> str:
    """Base64 HMAC-SHA256 of the raw body: how Shopify and WooCommerce sign webhooks."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def signature_matches(secret: str, body: bytes, given: str | None) -> bool:
    return bool(secret and given) and digests_match(hmac_base64(secret, body), given or "")


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def decode_json(content: bytes) -> Any:
    """Money as Decimal; integers (64-bit ids) stay exact Python ints."""
    try:
        return json.loads(content, parse_float=Decimal)
    except RecursionError:  # a body nested past the interpreter's limit: malformed, like bad JSON
        raise ValueError("JSON nested too deeply.") from None


def money(value: Any) -> Decimal:
    if value in (None, ""):
        return Decimal(0)
    return Decimal(str(value))


def retry_after_seconds(response: requests.Response, default: float = 2.0) -> float:
    try:
        return max(float(response.headers.get("Retry-After", default)), 0.0)
    except ValueError:
        return default


class Http:
    """requests, with the platform's errors turned into ours (429 -> RateLimited)."""

    def __init__(self, connection: ChannelConnection, *, headers: dict[str, str], auth: Any = None) -> None:
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": "OMS channel sync", **headers})
        self.session.auth = auth
        self.base = connection.base_url.rstrip("/")

    def call(self, method: str, url: str, *, params: Any = None, json_body: Any = None) -> requests.Response:
        target = url if url.startswith("http") else f"{self.base}{url}"
        try:
            response = self.session.request(
                method, target, params=params, json=json_body, timeout=settings.CHANNEL_HTTP_TIMEOUT_SECONDS
            )
        except requests.RequestException as exc:
            raise ChannelError(f"{method} {url}: {type(exc).__name__}") from None
        if response.status_code == 429:
            raise RateLimited(retry_after_seconds(response))
        if 400 <= response.status_code < 500:
            raise Rejected(f"{method} {url}: HTTP {response.status_code} {response.text[:500]}")
        if response.status_code >= 300:
            raise ChannelError(f"{method} {url}: HTTP {response.status_code}")
        return response
