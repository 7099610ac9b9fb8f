"""Shopify, REST Admin API (one pinned version). Field-by-field mapping: docs/CHANNELS.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from typing import Any

from orders.channels.connectors.base import (
    Http,
    Listing,
    Mapped,
    Page,
    RateLimited,
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
    units_by_sku,
)
from orders.channels.models import ChannelConnection, ChannelSkuMap

API_VERSION = "2024-10"
PAGE_SIZE = 250
# The REST bucket leaks 2 calls a second; past this share of it the channel pauses until it
# has drained to half, rather than run into 429s.
BUCKET_PAUSE_AT = 0.9
LEAK_PER_SECOND = 2.0
CAPTURED = {"paid", "partially_refunded", "refunded", "partially_paid"}


def _path(resource: str) -> str:
    return f"/admin/api/{API_VERSION}/{resource}"


def bucket_pause(header: str | None) -> float:
    """Seconds to wait for `X-Shopify-Shop-Api-Call-Limit: used/size`, 0 when there is room."""
    try:
        used, size = (int(part) for part in (header or "").split("/"))
    except ValueError:
        return 0.0
    if size <= 0 or used < size * BUCKET_PAUSE_AT:
        return 0.0
    return (used - size / 2) / LEAK_PER_SECOND


def _sum(items: Any, key: str) -> Decimal:
    return sum((money(item.get(key)) for item in items or []), Decimal(0))


def _address(raw: dict[str, Any] | None) -> dict[str, str] | None:
    if not raw:
        return None
    return address(
        first_name=raw.get("first_name"), last_name=raw.get("last_name"), company=raw.get("company"),
        line1=raw.get("address1"), line2=raw.get("address2"), city=raw.get("city"),
        region=raw.get("province_code"), postal_code=raw.get("zip"), country=raw.get("country_code"),
        phone=raw.get("phone"),
    )  # fmt: skip


class ShopifyConnector(PlatformConnector):
    signature_header = "X-Shopify-Hmac-Sha256"
    delivery_header = "X-Shopify-Webhook-Id"

    def __init__(self, connection: ChannelConnection, credentials: dict[str, str]) -> None:
        super().__init__(connection, credentials)
        self.http = Http(connection, headers={"X-Shopify-Access-Token": credentials.get("token", "")})

    # --- orders in -------------------------------------------------------------------------

    def _pages(self, resource: str, key: str, params: dict[str, Any]) -> Iterator[Page]:
        url, query = _path(resource), params
        while True:
            response = self.http.call("GET", url, params=query)
            following = response.links.get("next", {}).get("url")
            yield Page(decode_json(response.content).get(key) or [], has_more=bool(following))
            if not following:
                return
            # The page is committed by now: if the bucket is nearly full, pause the channel here.
            wait = bucket_pause(response.headers.get("X-Shopify-Shop-Api-Call-Limit"))
            if wait:
                raise RateLimited(wait)
            # With page_info, Shopify refuses the other filters: the link carries them.
            url, query = following, None

    def pull(self, *, since: datetime | None) -> Iterator[Page]:
        params: dict[str, Any] = {"status": "any", "limit": PAGE_SIZE, "order": "updated_at asc"}
        if since is not None:
            params["updated_at_min"] = since.isoformat()
        return self._pages("orders.json", "orders", params)

    def listings(self) -> Iterator[Listing]:
        for page in self._pages("products.json", "products", {"limit": PAGE_SIZE, "fields": "id,variants"}):
            for product in page.items:
                for variant in product.get("variants") or []:
                    if variant.get("sku"):
                        yield Listing(
                            sku=text(variant["sku"], 64),
                            product_id=text(product.get("id"), 40),
                            variant_id=text(variant.get("id"), 40),
                            inventory_item_id=text(variant.get("inventory_item_id"), 40),
                        )

    def map_order(self, raw: dict[str, Any]) -> Mapped:
        included = bool(raw.get("taxes_included")) or self.options.tax_included_in_prices
        lines, learned, current = [], {}, {}
        for item in raw.get("line_items") or []:
            sku = self.skus.resolve(sku=item.get("sku"), variant_id=item.get("variant_id"))
            allocations = item.get("discount_allocations")
            discount = _sum(allocations, "amount") if allocations else money(item.get("total_discount"))
            lines.append(
                {
                    "sku": sku,
                    "quantity": int(item.get("quantity") or 0),
                    "unit_price": amount(money(item.get("price"))),
                    "discount": amount(discount),
                    "tax": amount(Decimal(0) if included else _sum(item.get("tax_lines"), "price")),
                }
            )
            if sku:
                # A line edited away on Shopify keeps its quantity; current_quantity says what is left.
                current[sku] = current.get(sku, 0) + int(item.get("current_quantity", item.get("quantity")) or 0)
            if sku and item.get("variant_id"):
                learned[sku] = {"product_id": text(item.get("product_id"), 40), "variant_id": text(item["variant_id"])}
        shipping_lines = raw.get("shipping_lines") or []
        shipping_price = sum(
            (money(s.get("price")) - _sum(s.get("discount_allocations"), "amount") for s in shipping_lines), Decimal(0)
        )
        shipping_tax = (
            Decimal(0) if included else sum((_sum(s.get("tax_lines"), "price") for s in shipping_lines), Decimal(0))
        )
        customer = raw.get("customer") or {}
        shipping_address, billing_address = _address(raw.get("shipping_address")), _address(raw.get("billing_address"))
        country = (shipping_address or billing_address or {}).get("country")
        name = text(raw.get("name"), 100) or str(raw.get("id"))
        total = money(raw.get("total_price"))
        data = {
            "channel": self.options.channel_code,
            "external_id": str(raw.get("id")),
            "placed_at": raw.get("created_at"),
            "currency": text(raw.get("currency"), 3),
            "customer": {
                "email": text(raw.get("email") or customer.get("email") or raw.get("contact_email"), 254),
                "first_name": text(customer.get("first_name"), 100),
                "last_name": text(customer.get("last_name"), 100),
                "phone": phone_or_blank(raw.get("phone") or customer.get("phone"), country),
            },
            "shipping_address": shipping_address,
            "billing_address": billing_address,
            "lines": lines,
            "shipping": {
                "service_level": self.options.service_level(text((shipping_lines or [{}])[0].get("code"))),
                "price": amount(shipping_price),
                "tax": amount(shipping_tax),
            },
            "payments": [
                self.options.payment(captured=raw.get("financial_status") in CAPTURED, name=name, total=total)
            ],
            "total": amount(total),
            "notes": text(raw.get("note"), 2000),
        }
        return Mapped(
            external_id=str(raw.get("id")),
            name=name,
            data=data,
            updated_at=timestamp(raw.get("updated_at")),
            cancelled=bool(raw.get("cancelled_at")),
            learned=learned,
            current=current,
        )

    # --- pushes ----------------------------------------------------------------------------

    def push_availability(self, levels: list[StockLevel]) -> None:
        items = dict(
            ChannelSkuMap.objects.filter(connection=self.connection, sku__in={lv.sku for lv in levels})
            .exclude(inventory_item_id="")
            .values_list("sku", "inventory_item_id")
        )
        for level in levels:
            # A SKU whose inventory item is not known yet (no product sync, not edited) waits.
            if level.sku in items:
                body = {
                    "location_id": int(level.location),
                    "inventory_item_id": int(items[level.sku]),
                    "available": level.available,
                }
                self.http.call("POST", _path("inventory_levels/set.json"), json_body=body)

    def push_fulfillment(self, tracking: Tracking) -> None:
        listing = self.http.call("GET", _path(f"orders/{tracking.order_external_id}/fulfillment_orders.json"))
        variants = dict(ChannelSkuMap.objects.filter(connection=self.connection).values_list("variant_id", "sku"))
        wanted = {line["sku"]: int(line["quantity"]) for line in tracking.lines}
        by_order = []
        for fo in decode_json(listing.content).get("fulfillment_orders") or []:
            if fo.get("status") not in ("open", "in_progress"):
                continue
            items = []
            for item in fo.get("line_items") or []:
                sku = variants.get(str(item.get("variant_id")), "")
                take = min(wanted.get(sku, 0), int(item.get("fulfillable_quantity") or 0))
                if take:
                    items.append({"id": item["id"], "quantity": take})
                    wanted[sku] -= take
            if items:
                by_order.append({"fulfillment_order_id": fo["id"], "fulfillment_order_line_items": items})
        if not by_order:
            raise Rejected(f"order {tracking.order_name}: no open fulfilment order lines for the shipped SKUs")
        body = {
            "fulfillment": {
                "line_items_by_fulfillment_order": by_order,
                "tracking_info": {
                    "number": tracking.number,
                    "company": tracking.company,
                    **({"url": tracking.url} if tracking.url else {}),
                },
                "notify_customer": True,
            }
        }
        self.http.call("POST", _path("fulfillments.json"), json_body=body)

    def push_cancellation(self, *, external_id: str, reason: str) -> None:
        self.http.call("POST", _path(f"orders/{external_id}/cancel.json"), json_body={"reason": "other"})

    def _refund(self, external_id: str, refund: dict[str, Any]) -> None:
        self.http.call("POST", _path(f"orders/{external_id}/refunds.json"), json_body={"refund": refund})

    def _against_parents(
        self, external_id: str, amount: Decimal, kind: str, parents: tuple[str, ...]
    ) -> list[dict[str, Any]]:
        """Shopify moves money against the transaction it comes from (a refund against the sale or
        capture, a capture against the authorization): spread the amount over the order's
        successful parent transactions, each up to what earlier children left of it."""
        listing = self.http.call("GET", _path(f"orders/{external_id}/transactions.json"))
        transactions = [
            t for t in decode_json(listing.content).get("transactions") or [] if t.get("status") == "success"
        ]
        used: dict[str, Decimal] = defaultdict(Decimal)
        for txn in transactions:
            if txn.get("kind") == kind and txn.get("parent_id"):
                used[str(txn["parent_id"])] += money(txn.get("amount"))
        out, left = [], amount
        for txn in transactions:
            if txn.get("kind") not in parents or left <= 0:
                continue
            take = min(left, money(txn.get("amount")) - used[str(txn["id"])])
            if take > 0:
                out.append({"parent_id": txn["id"], "amount": str(take), "kind": kind, "gateway": txn.get("gateway")})
                left -= take
        if left > 0:
            held = "/".join(parents)
            raise Rejected(
                f"order {external_id}: {left} of the {amount} {kind} is more than its {held} transactions hold"
            )
        return out

    def push_refund(self, *, external_id: str, amount: Decimal, currency: str, reason: str) -> None:
        transactions = self._against_parents(external_id, amount, "refund", ("sale", "capture"))
        self._refund(external_id, {"note": reason, "currency": currency, "notify": True, "transactions": transactions})

    def push_capture(self, *, external_id: str, amount: Decimal, currency: str) -> None:
        """The OMS captured an order Shopify only authorized: capture it there, against the authorization."""
        for txn in self._against_parents(external_id, amount, "capture", ("authorization",)):
            body = {"transaction": {**txn, "currency": currency}}
            self.http.call("POST", _path(f"orders/{external_id}/transactions.json"), json_body=body)

    def push_line_cancellation(self, *, external_id: str, lines: list[dict[str, Any]], reason: str) -> None:
        """Cancelled units as a refund of their line items restocked as `cancel` (unfulfilled units),
        without money: the OMS's refund of their value is pushed on its own (push_refund)."""
        found = self.http.call("GET", _path(f"orders/{external_id}.json"), params={"fields": "id,line_items"})
        items = decode_json(found.content).get("order", {}).get("line_items") or []
        refund_lines = []
        for sku, quantity in units_by_sku(lines).items():
            for item in items:
                if quantity and self._sku_of(item) == sku:
                    take = min(quantity, int(item.get("fulfillable_quantity") or 0))
                    if take:
                        refund_lines.append({"line_item_id": item["id"], "quantity": take, "restock_type": "cancel"})
                        quantity -= take
            if quantity:
                raise Rejected(f"order {external_id}: {quantity} unit(s) of {sku} are not open on Shopify to cancel")
        self._refund(
            external_id, {"note": reason, "notify": False, "refund_line_items": refund_lines, "transactions": []}
        )

    def _sku_of(self, item: dict[str, Any]) -> str:
        return self.skus.resolve(sku=item.get("sku"), variant_id=item.get("variant_id"))
