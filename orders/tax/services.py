"""Checking a channel's declared tax, and the tax part of refunds."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from functools import partial
from typing import Any

from oms.actors import Actor
from oms.caches import ProcessCache
from oms.money import money_text
from orders.models import Hold, Order
from orders.services.holds import hold_place
from orders.tax.models import TaxSettings
from orders.tax.providers import tax_provider
from orders.validation import currency_precision


def declared_tax(order: Order) -> Decimal:
    return sum((line.tax for line in order.lines.all()), Decimal(0)) + order.shipping_tax


def _tax_settings(merchant_id: int) -> TaxSettings:
    return TaxSettings.objects.filter(merchant_id=merchant_id).first() or TaxSettings()


# Per process: read on every capture, changed rarely (oms.caches).
TAX_SETTINGS = ProcessCache("orders.tax_settings", _tax_settings, invalidated_by=(TaxSettings,))


def order_tax_check(*, order: Order, actor: Actor) -> dict[str, Any] | None:
    """Compare the declared tax with the provider's; outside the merchant's tolerance the
    order is put on a tax hold (not rejected). Return the comparison, or None if unchecked."""
    settings = TAX_SETTINGS.get(order.merchant_id)
    if not settings.check_declared_tax:
        return None
    quote = tax_provider().calculate_order(order=order)
    if quote is None:
        return None
    declared = declared_tax(order)
    difference = declared - quote.total
    result = {
        "declared": str(declared),
        "computed": str(quote.total),
        "difference": str(difference),
        "tolerance": str(settings.tolerance),
        "jurisdiction": quote.jurisdiction,
        "held": abs(difference) > settings.tolerance,
    }
    if result["held"]:
        money = partial(money_text, currency=order.currency)
        hold_place(
            order=order,
            type=Hold.Type.TAX,
            reason=(
                f"Declared tax {money(declared)} differs from the computed {money(quote.total)} for "
                f"{quote.jurisdiction} by {money(difference)} (tolerance {money(settings.tolerance)})."
            ),
            actor=actor,
            details=result,
        )
    return result


def refund_tax(*, order: Order, amount: Decimal, lines: list[dict[str, Any]]) -> Decimal:
    """The tax part of a refund: the provider's tax of the refunded quantities when lines are
    given (else the declared tax of those quantities); otherwise the order's tax share."""
    cent = Decimal(1).scaleb(-currency_precision(order.currency))
    if lines:
        quantities = {item["line"]: item["quantity"] for item in lines}
        quote = tax_provider().calculate_refund(order=order, quantities=quantities, shipping=Decimal(0))
        if quote is not None:
            tax = quote.total
        else:
            known = {line.pk: line for line in order.lines.all()}
            tax = sum(
                (known[pk].tax * qty / known[pk].quantity for pk, qty in quantities.items() if pk in known),
                Decimal(0),
            )
    else:
        total = order.total
        tax = amount * declared_tax(order) / total if total else Decimal(0)
    return min(amount, tax.quantize(cent, ROUND_HALF_UP))
