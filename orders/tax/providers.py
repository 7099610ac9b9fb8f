"""The tax provider interface and the built-in rate-table provider.

docs/PAYMENTS.md ("Tax") shows how an Avalara AvaTax client maps onto this interface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from inventory.models import Product
from oms.caches import ProcessCache
from orders.models import FulfillmentType, Order, OrderLine
from orders.tax.models import TaxRate
from orders.validation import currency_precision


@dataclass(frozen=True)
class TaxQuote:
    lines: dict[int, Decimal]  # line id -> tax
    shipping: Decimal
    jurisdiction: str
    details: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum(self.lines.values(), Decimal(0)) + self.shipping


class TaxProvider(Protocol):
    def calculate_order(self, *, order: Order) -> TaxQuote | None:
        """Tax of the whole order; None when the provider has no rates for its destination."""

    def calculate_shipment(self, *, order: Order, quantities: dict[int, int], shipping: Decimal) -> TaxQuote | None:
        """Tax of what one shipment carries (line id -> quantity) and its shipping charge."""

    def calculate_refund(self, *, order: Order, quantities: dict[int, int], shipping: Decimal) -> TaxQuote | None:
        """Tax given back with the refunded quantities (and refunded shipping)."""


def tax_provider() -> TaxProvider:
    path = getattr(settings, "TAX_PROVIDER", "orders.tax.providers.RateTableProvider")
    return import_string(path)()


def destination(order: Order) -> dict[str, str] | None:
    """Where the goods are delivered: the shipping address, or the pick-up store."""
    if order.fulfillment_type == FulfillmentType.PICKUP and order.pickup_node is not None:
        node = order.pickup_node
        return {"country": node.country, "region": node.region, "postal_code": node.postal_code}
    address = order.shipping_address or order.billing_address
    if not address:
        return None
    return {k: str(address.get(k) or "") for k in ("country", "region", "postal_code")}


def _rates(key: tuple[int, str]) -> list[TaxRate]:
    merchant_id, country = key
    return list(TaxRate.objects.filter(merchant_id=merchant_id, country=country))


# Per process, by (merchant, country): every capture's tax check reads them; they change
# rarely (oms.caches).
_RATES = ProcessCache("orders.tax_rates", _rates, invalidated_by=(TaxRate,))


def _tax_codes(lines: list[OrderLine]) -> dict[int, str]:
    """Product id -> tax code (inventory's `Product.tax_category`); products the lines carry
    already (a capture's) cost no query."""
    codes = {line.product_id: line.product.tax_category for line in lines if OrderLine.product.is_cached(line)}
    missing = {line.product_id for line in lines} - codes.keys()
    if missing:
        codes.update(Product.objects.filter(pk__in=missing).values_list("pk", "tax_category"))
    return codes


class RateTableProvider:
    """Rates by country, region, postal-code prefix and product tax code (TaxRate rows).

    The most specific rate wins: a region beats the whole country, a longer postal prefix a
    shorter one, and then a rate for the product's tax code beats the default (empty) one.
    Shipping is taxed at the default rate of the place, when that rate says it is taxable.
    """

    def calculate_order(self, *, order: Order) -> TaxQuote | None:
        lines = list(order.lines.all())
        return self._quote(order, {line.pk: line.quantity for line in lines}, order.shipping_price, lines)

    def calculate_shipment(self, *, order: Order, quantities: dict[int, int], shipping: Decimal) -> TaxQuote | None:
        return self._quote(order, quantities, shipping, list(order.lines.all()))

    def calculate_refund(self, *, order: Order, quantities: dict[int, int], shipping: Decimal) -> TaxQuote | None:
        return self._quote(order, quantities, shipping, list(order.lines.all()))

    def _quote(
        self, order: Order, quantities: dict[int, int], shipping: Decimal, lines: list[OrderLine]
    ) -> TaxQuote | None:
        place = destination(order)
        if place is None:
            return None
        rates = _RATES.get((order.merchant_id, place["country"].upper()))
        if not rates:
            return None
        codes = _tax_codes(lines)  # the product's tax code (`tax_code` in the API)
        cent = Decimal(1).scaleb(-currency_precision(order.currency))
        out: dict[int, Decimal] = {}
        details = []
        for line in lines:
            qty = quantities.get(line.pk, 0)
            if not qty:
                continue
            rate = self._match(rates, place, codes.get(line.product_id, ""))
            base = (line.unit_price * line.quantity - line.discount) * qty / line.quantity
            tax = (base * rate.rate).quantize(cent, ROUND_HALF_UP) if rate else Decimal(0)
            out[line.pk] = tax
            details.append(
                {"line": line.pk, "rate": str(rate.rate) if rate else "0", "rule": str(rate) if rate else ""}
            )
        default = self._match(rates, place, "")
        ship_tax = Decimal(0)
        if default is not None and default.shipping_taxable and shipping:
            ship_tax = (shipping * default.rate).quantize(cent, ROUND_HALF_UP)
        jurisdiction = "/".join(p for p in (place["country"], place["region"], place["postal_code"]) if p)
        return TaxQuote(lines=out, shipping=ship_tax, jurisdiction=jurisdiction, details=details)

    @staticmethod
    def _match(rates: list[TaxRate], place: dict[str, str], code: str) -> TaxRate | None:
        region = place["region"].upper()
        postal = place["postal_code"].replace(" ", "").upper()
        fitting = [
            r
            for r in rates
            if (not r.region or r.region.upper() == region)
            and (not r.postal_prefix or postal.startswith(r.postal_prefix.replace(" ", "").upper()))
            and (not r.tax_code or r.tax_code == code)
        ]
        if not fitting:
            return None
        return max(fitting, key=lambda r: (bool(r.region), len(r.postal_prefix), bool(r.tax_code)))
