"""A generic JSON or CSV feed of order lines, read through a per-connection field mapping.

Each record is one order line; the order fields repeat on every line of the order, and lines
are grouped by the mapped `external_id`. `options.feed_fields` maps our names (FIELDS) to the
feed's columns (JSON keys may be dotted paths); unmapped names default to our own name.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from orders.channels.connectors.base import (
    Http,
    Listing,
    Mapped,
    Page,
    Rejected,
    StockLevel,
    Tracking,
    decode_json,
    money,
)
from orders.channels.connectors.mapping import (
    PlatformConnector,
    address,
    amount,
    phone_or_blank,
    text,
    timestamp,
)
from orders.channels.models import ChannelConnection

FIELDS = (
    "external_id", "name", "placed_at", "updated_at", "currency", "email", "first_name", "last_name", "phone",
    "ship_first_name", "ship_last_name", "ship_company", "ship_line1", "ship_line2", "ship_city", "ship_region",
    "ship_postal_code", "ship_country", "service_level", "shipping_price", "shipping_tax", "paid", "total",
    "sku", "quantity", "unit_price", "discount", "tax", "status",
)  # fmt: skip
TRUE = {"1", "true", "yes", "paid", "y"}


def _get(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def parse_feed(content: bytes, fmt: str) -> list[dict[str, Any]]:
    """The feed's records: a CSV with a header row, or a JSON array (or {"orders": [...]})."""
    if fmt == "csv":
        return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    data = decode_json(content)
    if isinstance(data, dict):
        data = data.get("orders") or data.get("lines") or []
    if not isinstance(data, list):
        raise ValueError("expected an array of records, or an object whose `orders` is one")
    return [record for record in data if isinstance(record, dict)]


class FeedConnector(PlatformConnector):
    """A feed is read; it does not call us (no signature header: every webhook is refused)."""

    def __init__(self, connection: ChannelConnection, credentials: dict[str, str]) -> None:
        super().__init__(connection, credentials)
        self.format = str(self.options.raw.get("feed_format", "json"))
        self.columns = {name: str((self.options.raw.get("feed_fields") or {}).get(name, name)) for name in FIELDS}
        token = credentials.get("token")
        self.http = Http(connection, headers={"Authorization": f"Bearer {token}"} if token else {})

    def field(self, record: dict[str, Any], name: str) -> Any:
        return _get(record, self.columns[name])

    def group(self, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        orders: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            orders.setdefault(text(self.field(record, "external_id"), 100), []).append(record)
        return [{"id": external_id, "records": rows} for external_id, rows in orders.items() if external_id]

    def pull(self, *, since: datetime | None) -> Iterator[Page]:
        # A feed has no cursor of its own: it is read whole, and the exactly-once key keeps
        # the orders already captured from being captured again.
        response = self.http.call("GET", self.connection.base_url)
        yield Page(self.group(parse_feed(response.content, self.format)), has_more=False)

    def map_order(self, raw: dict[str, Any]) -> Mapped:
        rows = raw["records"]
        first = rows[0]

        def get(name: str) -> Any:
            return self.field(first, name)

        lines = [
            {
                "sku": self.skus.resolve(sku=self.field(row, "sku"), variant_id=""),
                "quantity": int(money(self.field(row, "quantity"))),
                "unit_price": amount(money(self.field(row, "unit_price"))),
                "discount": amount(money(self.field(row, "discount"))),
                "tax": amount(money(self.field(row, "tax"))),
            }
            for row in rows
        ]
        shipping_address = address(
            first_name=get("ship_first_name") or get("first_name"), last_name=get("ship_last_name") or get("last_name"),
            company=get("ship_company"), line1=get("ship_line1"), line2=get("ship_line2"), city=get("ship_city"),
            region=get("ship_region"), postal_code=get("ship_postal_code"), country=get("ship_country"),
        )  # fmt: skip
        goods = sum(
            (
                money(line["unit_price"]) * line["quantity"] - money(line["discount"]) + money(line["tax"])
                for line in lines
            ),
            Decimal(0),
        )
        total = (
            money(get("total"))
            if get("total") not in (None, "")
            else goods + money(get("shipping_price")) + money(get("shipping_tax"))
        )
        name = text(get("name"), 100) or raw["id"]
        placed = timestamp(get("placed_at"))
        data = {
            "channel": self.options.channel_code,
            "external_id": raw["id"],
            "placed_at": placed.isoformat() if placed else get("placed_at"),
            "currency": text(get("currency"), 3),
            "customer": {
                "email": text(get("email"), 254),
                "first_name": text(get("first_name"), 100),
                "last_name": text(get("last_name"), 100),
                "phone": phone_or_blank(get("phone"), (shipping_address or {}).get("country")),
            },
            "shipping_address": shipping_address,
            "billing_address": shipping_address,
            "lines": lines,
            "shipping": {
                "service_level": self.options.service_level(text(get("service_level"))),
                "price": amount(money(get("shipping_price"))),
                "tax": amount(money(get("shipping_tax"))),
            },
            "payments": [
                self.options.payment(captured=str(get("paid") or "true").lower() in TRUE, name=name, total=total)
            ],
            "total": amount(total),
        }
        return Mapped(
            external_id=raw["id"],
            name=name,
            data=data,
            updated_at=timestamp(get("updated_at")) or placed,
            cancelled=str(get("status") or "").lower() == "cancelled",
        )

    def listings(self) -> Iterator[Listing]:
        return iter(())  # a feed lists orders, not products

    def push_availability(self, levels: list[StockLevel]) -> None:
        raise Rejected("a feed takes no updates")

    def push_fulfillment(self, tracking: Tracking) -> None:
        raise Rejected("a feed takes no updates")

    def push_cancellation(self, *, external_id: str, reason: str) -> None:
        raise Rejected("a feed takes no updates")

    def push_line_cancellation(self, *, external_id: str, lines: list[dict[str, Any]], reason: str) -> None:
        raise Rejected("a feed takes no updates")

    def push_refund(self, *, external_id: str, amount: Decimal, currency: str, reason: str) -> None:
        raise Rejected("a feed takes no updates")

    def push_capture(self, *, external_id: str, amount: Decimal, currency: str) -> None:
        raise Rejected("a feed takes no updates")
