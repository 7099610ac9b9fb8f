"""WooCommerce, REST API v3. Field-by-field mapping: docs/CHANNELS.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from babel.numbers import get_currency_precision

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
    units_by_sku,
)
from orders.channels.models import ChannelConnection, ChannelSkuMap

API = "/wp-json/wc/v3"
PAGE_SIZE = 100
BATCH_SIZE = 100  # WooCommerce's limit per batch request
PAID = {"processing", "completed", "refunded"}


def _unit_price(subtotal: Decimal, quantity: int, currency: str) -> Decimal:
    """The line's pre-discount unit price. Where the subtotal does not divide evenly, round the
    unit up: the rest of the difference to the line total is then part of the discount."""
    step = Decimal(1).scaleb(-int(get_currency_precision(currency or "USD")))
    return (subtotal / quantity).quantize(step, rounding=ROUND_CEILING)


def _scaled(value: Any, part: int, whole: int) -> str:
    """A line total for `part` of its `whole` units, to the total's own places."""
    total = money(value)
    return amount((total * part / whole).quantize(total))


def _address(raw: dict[str, Any] | None) -> dict[str, str] | None:
    if not raw:
        return None
    return address(
        first_name=raw.get("first_name"), last_name=raw.get("last_name"), company=raw.get("company"),
        line1=raw.get("address_1"), line2=raw.get("address_2"), city=raw.get("city"), region=raw.get("state"),
        postal_code=raw.get("postcode"), country=raw.get("country"), phone=raw.get("phone"),
    )  # fmt: skip


def _tax_errors(raw: dict[str, Any], shipping_tax: Decimal) -> list[dict[str, str]]:
    """The order's tax lines (one per rate) must add up to the lines' and shipping's tax."""
    rates = raw.get("tax_lines") or []
    if not rates:
        return []
    by_rate = sum((money(t.get("tax_total")) + money(t.get("shipping_tax_total")) for t in rates), Decimal(0))
    by_line = sum((money(i.get("total_tax")) for i in raw.get("line_items") or []), Decimal(0)) + shipping_tax
    if by_rate == by_line:
        return []
    message = f"Tax lines add up to {by_rate}, the line and shipping taxes to {by_line}."
    return [{"field": "tax_lines", "code": "mismatch", "message": message}]


class WooCommerceConnector(PlatformConnector):
    signature_header = "X-WC-Webhook-Signature"
    delivery_header = "X-WC-Webhook-Delivery-ID"

    def __init__(self, connection: ChannelConnection, credentials: dict[str, str]) -> None:
        super().__init__(connection, credentials)
        auth = (credentials.get("consumer_key", ""), credentials.get("consumer_secret", ""))
        self.http = Http(connection, headers={}, auth=auth)

    # --- orders in -------------------------------------------------------------------------

    def _pages(self, resource: str, params: dict[str, Any]) -> Iterator[Page]:
        page = 1
        while True:
            response = self.http.call(
                "GET", f"{API}/{resource}", params={**params, "per_page": PAGE_SIZE, "page": page}
            )
            total_pages = int(response.headers.get("X-WP-TotalPages") or 1)
            yield Page(decode_json(response.content) or [], has_more=page < total_pages)
            if page >= total_pages:
                return
            page += 1

    def pull(self, *, since: datetime | None) -> Iterator[Page]:
        params: dict[str, Any] = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true"}
        if since is not None:
            params["modified_after"] = since.strftime("%Y-%m-%dT%H:%M:%S")
        return self._pages("orders", params)

    def listings(self) -> Iterator[Listing]:
        for page in self._pages("products", {}):
            for product in page.items:
                product_id = text(product.get("id"), 40)
                if product.get("sku"):
                    yield Listing(sku=text(product["sku"], 64), product_id=product_id)
                if product.get("type") == "variable":
                    for variations in self._pages(f"products/{product_id}/variations", {}):
                        for variation in variations.items:
                            if variation.get("sku"):
                                yield Listing(
                                    sku=text(variation["sku"], 64),
                                    product_id=product_id,
                                    variant_id=text(variation.get("id"), 40),
                                )

    def map_order(self, raw: dict[str, Any]) -> Mapped:
        currency = text(raw.get("currency"), 3)
        included = bool(raw.get("prices_include_tax")) or self.options.tax_included_in_prices
        lines, learned = [], {}
        for item in raw.get("line_items") or []:
            quantity = int(item.get("quantity") or 0)
            variation = item.get("variation_id") or 0
            sku = self.skus.resolve(sku=item.get("sku"), variant_id=variation or item.get("product_id"))
            subtotal, total = money(item.get("subtotal")), money(item.get("total"))
            unit = _unit_price(subtotal, quantity, currency) if quantity else Decimal(0)
            lines.append(
                {
                    "sku": sku,
                    "quantity": quantity,
                    "unit_price": amount(unit),
                    # A coupon is the difference between the line's subtotal and its total.
                    "discount": amount(unit * quantity - total),
                    "tax": amount(Decimal(0) if included else money(item.get("total_tax"))),
                }
            )
            if sku:
                learned[sku] = {
                    "product_id": text(item.get("product_id"), 40),
                    "variant_id": text(variation, 40) if variation else "",
                }
        shipping_lines = raw.get("shipping_lines") or []
        shipping_price = sum((money(s.get("total")) for s in shipping_lines), Decimal(0))
        shipping_tax = sum((money(s.get("total_tax")) for s in shipping_lines), Decimal(0))
        errors = _tax_errors(raw, shipping_tax)
        billing = raw.get("billing") or {}
        shipping_address, billing_address = _address(raw.get("shipping")), _address(billing)
        country = (shipping_address or billing_address or {}).get("country")
        name = f"#{raw.get('number') or raw.get('id')}"
        total = money(raw.get("total"))
        data = {
            "channel": self.options.channel_code,
            "external_id": str(raw.get("id")),
            "placed_at": (timestamp(raw.get("date_created_gmt")) or timestamp(raw.get("date_created"))),
            "currency": currency,
            "customer": {
                "email": text(billing.get("email"), 254),
                "first_name": text(billing.get("first_name"), 100),
                "last_name": text(billing.get("last_name"), 100),
                "phone": phone_or_blank(billing.get("phone"), country),
            },
            "shipping_address": shipping_address,
            "billing_address": billing_address,
            "lines": lines,
            "shipping": {
                "service_level": self.options.service_level(text((shipping_lines or [{}])[0].get("method_id"))),
                "price": amount(shipping_price),
                "tax": amount(Decimal(0) if included else shipping_tax),
            },
            "payments": [self.options.payment(captured=raw.get("status") in PAID, name=name, total=total)],
            "total": amount(total),
            "notes": text(raw.get("customer_note"), 2000),
        }
        if data["placed_at"] is not None:
            data["placed_at"] = data["placed_at"].isoformat()
        return Mapped(
            external_id=str(raw.get("id")),
            name=name,
            data=data,
            updated_at=timestamp(raw.get("date_modified_gmt")) or timestamp(raw.get("date_modified")),
            cancelled=raw.get("status") == "cancelled",
            learned=learned,
            errors=errors,
        )

    # --- pushes ----------------------------------------------------------------------------

    def push_availability(self, levels: list[StockLevel]) -> None:
        ids = {
            sku: (product, variant)
            for sku, product, variant in ChannelSkuMap.objects.filter(
                connection=self.connection, sku__in={lv.sku for lv in levels}
            ).values_list("sku", "product_id", "variant_id")
        }
        simple: list[dict[str, Any]] = []
        variations: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for level in levels:
            product, variant = ids.get(level.sku, ("", ""))
            if variant:
                variations[product].append(
                    {"id": int(variant), "stock_quantity": level.available, "manage_stock": True}
                )
            elif product:
                simple.append({"id": int(product), "stock_quantity": level.available, "manage_stock": True})
        for start in range(0, len(simple), BATCH_SIZE):
            self.http.call("POST", f"{API}/products/batch", json_body={"update": simple[start : start + BATCH_SIZE]})
        for product, updates in variations.items():
            for start in range(0, len(updates), BATCH_SIZE):
                self.http.call(
                    "POST",
                    f"{API}/products/{product}/variations/batch",
                    json_body={"update": updates[start : start + BATCH_SIZE]},
                )

    def _note(self, external_id: str, note: str) -> None:
        self.http.call("POST", f"{API}/orders/{external_id}/notes", json_body={"note": note, "customer_note": True})

    def push_fulfillment(self, tracking: Tracking) -> None:
        """Each shipment is a customer note with its tracking; the order becomes `completed` only
        with the shipment that leaves nothing to ship (WooCommerce has no partial shipment state)."""
        link = f" {tracking.url}" if tracking.url else ""
        items = ", ".join(f"{line['quantity']} × {line['sku']}" for line in tracking.lines)
        shipped = f" ({items})" if items else ""
        self._note(
            tracking.order_external_id,
            f"Shipped{shipped} with {tracking.company}, tracking number {tracking.number}.{link}",
        )
        if tracking.complete:
            self.http.call("PUT", f"{API}/orders/{tracking.order_external_id}", json_body={"status": "completed"})

    def push_cancellation(self, *, external_id: str, reason: str) -> None:
        self._note(external_id, f"Cancelled: {reason}")
        self.http.call("PUT", f"{API}/orders/{external_id}", json_body={"status": "cancelled"})

    def push_line_cancellation(self, *, external_id: str, lines: list[dict[str, Any]], reason: str) -> None:
        """Cancelled units: a customer note saying which, and the order's line items updated to the
        quantities left (their totals in proportion), so the next pull sees what the OMS has; the
        money goes back by the OMS's own refund push."""
        found = self.http.call("GET", f"{API}/orders/{external_id}")
        items = decode_json(found.content).get("line_items") or []
        updates = []
        for sku, quantity in units_by_sku(lines).items():
            for item in items:
                variant = item.get("variation_id") or item.get("product_id")
                had = int(item.get("quantity") or 0)
                if quantity and had and self.skus.resolve(sku=item.get("sku"), variant_id=variant) == sku:
                    left = had - min(quantity, had)
                    quantity -= had - left
                    part = {k: _scaled(item.get(k), left, had) for k in ("subtotal", "total")}
                    updates.append({"id": item["id"], "quantity": left, **part})
            if quantity:
                raise Rejected(f"order {external_id}: {quantity} unit(s) of {sku} are not on the WooCommerce order")
        cancelled = ", ".join(f"{q} × {sku}" for sku, q in units_by_sku(lines).items())
        self._note(external_id, f"Cancelled {cancelled}: {reason}")
        self.http.call("PUT", f"{API}/orders/{external_id}", json_body={"line_items": updates})

    def push_capture(self, *, external_id: str, amount: Decimal, currency: str) -> None:
        """The OMS captured an order WooCommerce holds as awaiting payment: a note, and the order
        set paid (`set_paid` makes it `processing`, as a completed payment does)."""
        self._note(external_id, f"Payment of {amount} {currency} captured.")
        self.http.call("PUT", f"{API}/orders/{external_id}", json_body={"set_paid": True})

    def push_refund(self, *, external_id: str, amount: Decimal, currency: str, reason: str) -> None:
        body = {"amount": str(amount), "reason": reason, "api_refund": False}
        self.http.call("POST", f"{API}/orders/{external_id}/refunds", json_body=body)
