"""The refund a return (or a claim) gives: items after discounts prorated per unit, their tax
from the tax provider, shipping per the merchant's policy, minus restocking fees per reason."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from orders.models import Order, OrderLine
from orders.tax.providers import tax_provider
from returns.models import Acceptance, Receipt, Return, ReturnUnit, ShippingRefund
from returns.services.common import cents, settings_for


@dataclass(frozen=True)
class RefundQuote:
    items: Decimal  # price paid after discounts, prorated per unit
    tax: Decimal  # the items' tax, from the tax provider (else as declared)
    shipping: Decimal
    shipping_tax: Decimal
    restocking_fee: Decimal
    quantities: dict[int, int]  # order line id -> units refunded

    @property
    def total(self) -> Decimal:
        return self.items + self.tax + self.shipping + self.shipping_tax - self.restocking_fee

    def as_json(self) -> dict[str, str]:
        return {k: str(getattr(self, k)) for k in ("items", "tax", "shipping", "shipping_tax", "restocking_fee",
                                                    "total")}  # fmt: skip


def unit_net(line: OrderLine) -> Decimal:
    """What one unit cost the customer: its price after the line's discount, prorated."""
    return (line.unit_price * line.quantity - line.discount) / line.quantity


def _merchandise(order: Order) -> Decimal:
    return sum((line.unit_price * line.quantity - line.discount for line in order.lines.all()), Decimal(0))


def refund_quote(
    order: Order, quantities: dict[int, int], *, fees: dict[int, Decimal] | None = None, whole_order: bool = False
) -> RefundQuote:
    """The refund of `quantities` (per order line): items after discounts, their tax, shipping per
    the merchant's policy, minus restocking fees (percent per order line in `fees`)."""
    currency = order.currency
    lines = {line.pk: line for line in order.lines.all()}
    values = {pk: unit_net(lines[pk]) * qty for pk, qty in quantities.items() if qty}
    items = cents(sum(values.values(), Decimal(0)), currency)
    policy = settings_for(order.merchant_id).shipping_refund
    merchandise = _merchandise(order)
    if policy == ShippingRefund.PRORATED and merchandise:
        shipping = cents(order.shipping_price * sum(values.values(), Decimal(0)) / merchandise, currency)
    elif policy == ShippingRefund.FULL_RETURN and whole_order:
        shipping = order.shipping_price
    else:
        shipping = Decimal(0)
    quote = tax_provider().calculate_refund(order=order, quantities=quantities, shipping=shipping)
    if quote is not None:
        tax, shipping_tax = sum(quote.lines.values(), Decimal(0)), quote.shipping
    else:  # no rate for the place: give back the tax as the channel declared it, prorated
        tax = sum((lines[pk].tax * qty / lines[pk].quantity for pk, qty in quantities.items()), Decimal(0))
        shipping_tax = order.shipping_tax * shipping / order.shipping_price if order.shipping_price else Decimal(0)
    fee = sum((values[pk] * pct / 100 for pk, pct in (fees or {}).items() if pk in values), Decimal(0))
    return RefundQuote(
        items=items, tax=cents(tax, currency), shipping=cents(shipping, currency),
        shipping_tax=cents(shipping_tax, currency), restocking_fee=cents(fee, currency),
        quantities={pk: qty for pk, qty in quantities.items() if qty},
    )  # fmt: skip


def _whole_order_back(order: Order) -> bool:
    """Every unit delivered has come back (counting this return's received units)."""
    return all(line.qty_returned >= line.qty_delivered for line in order.lines.all() if line.qty_delivered)


def return_quote(rma: Return) -> RefundQuote:
    """What the return refunds: its units received and accepted (after inspection)."""
    units = ReturnUnit.objects.filter(line__rma=rma, receipt=Receipt.RECEIVED, acceptance=Acceptance.ACCEPTED)
    quantities = Counter(units.values_list("line__order_line_id", flat=True))
    fees = {line.order_line_id: line.reason.restocking_fee_percent for line in rma.lines.select_related("reason")}
    return refund_quote(rma.order, dict(quantities), fees=fees, whole_order=_whole_order_back(rma.order))


def expected_quote(rma: Return) -> RefundQuote:
    """What the return would refund if every requested unit came back and was accepted."""
    quantities = {line.order_line_id: line.quantity for line in rma.lines.all()}
    fees = {line.order_line_id: line.reason.restocking_fee_percent for line in rma.lines.select_related("reason")}
    lines = rma.order.lines.all()
    whole = all(line.qty_returned + quantities.get(line.pk, 0) >= line.qty_delivered for line in lines)
    return refund_quote(rma.order, quantities, fees=fees, whole_order=whole)
