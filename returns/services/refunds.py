"""The money of a return: the refund amount computed (never typed), issued once through the
orders refund service, and the return completed when it succeeded."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from inventory.models import Node
from oms.actors import Actor
from oms.errors import Conflict
from oms.refs import Ref
from orders.models import Order, OrderLine, Payment
from orders.payments.models import Refund
from orders.payments.services import refund_issue
from orders.services.holds import order_lock
from orders.tax.providers import tax_provider
from returns.models import Acceptance, Receipt, Return, ReturnStatus, ReturnUnit, ShippingRefund
from returns.services.common import cents, return_lock, settings_for
from returns.services.receiving import return_inspect
from returns.timeline import return_record, return_transition


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


def refundable(order: Order) -> Decimal:
    """Captured minus refunded (and refunds in flight) over the order's payments."""
    return sum((p.refundable_amount for p in Payment.objects.filter(order=order)), Decimal(0))


def source_of(obj: Return | object) -> str:
    return str(Ref.to(obj))  # type: ignore[arg-type]


def return_settle(*, rma: Return, actor: Actor) -> Refund | None:
    """Refund an inspected return (once, whoever asks and however often) and complete it.

    The amount is computed; it is capped at what can still be refunded (an earlier refund on
    the order may have given some back). The refund's source is the return, so concurrent or
    repeated requests get the one refund. Call outside a transaction: the gateway is called.
    """
    rma = Return.objects.select_related("order", "merchant").get(pk=rma.pk)
    if rma.status == ReturnStatus.COMPLETED:
        return rma.refund
    if rma.status != ReturnStatus.INSPECTED:
        raise Conflict(f"Return {rma.number} is {rma.status}; it is refunded once inspected.", code="invalid_state")
    quote = return_quote(rma)
    amount = min(quote.total, refundable(rma.order))
    refund = None
    if amount > 0:
        lines = [{"line": pk, "quantity": qty} for pk, qty in quote.quantities.items()]
        refund = refund_issue(
            order=rma.order, amount=amount, reason=f"Return {rma.number}", actor=actor, lines=lines,
            source=source_of(rma),
        )  # fmt: skip
    return_complete(rma=rma, refund=refund, actor=actor, quote=quote)
    return refund


@transaction.atomic
def return_complete(*, rma: Return, refund: Refund | None, actor: Actor, quote: RefundQuote | None = None) -> None:
    """Close an inspected return once its refund succeeded (or nothing was due); a refund still
    pending at the gateway completes it later (the refund.issued consumer)."""
    order_lock(rma.order)
    rma = return_lock(rma)
    if rma.status != ReturnStatus.INSPECTED:
        return
    if refund is not None and rma.refund_id is None:
        rma.refund = refund
        rma.save(update_fields=["refund", "updated_at"])
        return_record(rma, "refund", actor=actor, payload={"refund": refund.pk, "amount": str(refund.amount),
                                                           **(quote.as_json() if quote else {})})  # fmt: skip
    if refund is not None and refund.status != Refund.Status.SUCCEEDED:
        return
    amount = str(refund.amount) if refund else "0"
    reason = f"Refunded {amount} {rma.order.currency}"
    return_transition(
        rma, "complete", actor=actor, event_type="return.completed", reason=reason,
        event_extra={"refund_amount": amount},
    )  # fmt: skip


def return_inspect_and_refund(*, rma: Return, grades: list[dict[str, object]], actor: Actor,
                              node: Node | None = None) -> Return:  # fmt: skip
    """Inspect (and put away), then refund and complete unless the merchant reviews refunds first."""
    rma = return_inspect(rma=rma, grades=grades, actor=actor, node=node)
    if settings_for(rma.merchant_id).refund_on_inspection:
        return_settle(rma=rma, actor=actor)
    return rma
