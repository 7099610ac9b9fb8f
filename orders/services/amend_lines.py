"""Line changes before release: add a line, raise a quantity, substitute a SKU (reductions are
partial cancellations). Validated like capture, the added units taxed by the tax provider; an
increase in value is paid through orders.payments, and the order is routed again."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

from django.db import transaction

from inventory.models import Product
from oms.actors import Actor
from oms.errors import Conflict, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import order_payload
from orders.models import AMENDABLE, Order, OrderLine, Payment
from orders.payments.services import (
    line_value,
    payment_holds_of,
    payment_increase_declined,
    payments_cover_increase,
)
from orders.services.cancel import order_cancel
from orders.services.holds import hold_resolve, order_lock
from orders.services.timeline import record
from orders.tax.providers import tax_provider
from orders.validation import currency_precision, money_errors


class LineChange(TypedDict, total=False):
    line: int  # an existing line: its new quantity, or the SKU that replaces it
    quantity: int
    sku: str  # a new line's (or the substitute's) SKU
    unit_price: Decimal  # a new line's price (a substitute keeps the line's price unless given)


def _product(order: Order, sku: str, field: str) -> Product:
    product = Product.objects.filter(merchant_id=order.merchant_id, sku=sku).first()
    if product is None:
        raise InvalidInput([FieldError(field, "unknown_sku", f"No product with SKU '{sku}'.")])
    if not product.active:
        raise InvalidInput([FieldError(field, "inactive_sku", f"SKU '{sku}' is not active.")])
    return product


@transaction.atomic
def order_lines_amend(*, order: Order, changes: list[LineChange], actor: Actor, reason: str = "") -> Order:
    """Apply line changes to an order not yet released; return the order."""
    order = order_lock(order)
    if order.status not in AMENDABLE:
        raise Conflict(f"Order {order.number} is {order.status}; its lines can no longer change.", code="invalid_state")
    lines = {line.pk: line for line in order.lines.select_for_update()}
    position = max((line.position for line in lines.values()), default=0)
    added: dict[int, int] = {}  # line id -> units added (taxed and paid below)
    replaced: dict[int, OrderLine] = {}  # a substitute's line id -> the line it replaces
    cancels: list[dict[str, int]] = []
    described: dict[str, tuple[Any, Any]] = {}
    for i, change in enumerate(changes):
        line = lines.get(change["line"]) if "line" in change else None
        if "line" in change and line is None:
            raise InvalidInput(
                [FieldError(f"lines[{i}].line", "invalid", f"Line {change['line']} is not a line of this order.")]
            )
        if line is not None and change.get("sku") and change["sku"] != line.sku:  # substitution
            product = _product(order, change["sku"], f"lines[{i}].sku")
            quantity = line.quantity - line.qty_cancelled
            cancels.append({"line": line.pk, "quantity": quantity})
            position += 1
            price = change.get("unit_price", line.unit_price)
            new = _new_line(order, product, position, quantity, price, i)
            added[new.pk] = quantity
            replaced[new.pk] = line
            described[f"{line.sku} → {product.sku}"] = (quantity, quantity)
        elif line is not None:
            now, wanted = line.quantity - line.qty_cancelled, change["quantity"]
            if wanted > now:
                line.quantity += wanted - now
                line.save(update_fields=["quantity"])
                added[line.pk] = wanted - now
            elif wanted < now:
                cancels.append({"line": line.pk, "quantity": now - wanted})
            if wanted != now:
                described[line.sku] = (now, wanted)
        else:
            product = _product(order, change.get("sku", ""), f"lines[{i}].sku")
            if "unit_price" not in change:
                raise InvalidInput([FieldError(f"lines[{i}].unit_price", "required", "A new line needs its price.")])
            position += 1
            new = _new_line(order, product, position, change["quantity"], change["unit_price"], i)
            added[new.pk] = change["quantity"]
            described[product.sku] = (0, change["quantity"])
    if not described:
        return order
    # What the payments must cover more (or less): the added value less the value cancelled. A
    # substitute at the same price costs nothing more; a cheaper one is refunded by the
    # cancellation below (what was captured beyond the order's new value).
    difference = _tax_and_price(order, added, replaced) - line_value(order, {c["line"]: c["quantity"] for c in cancels})
    payment = payments_cover_increase(order=order, amount=difference, actor=actor) if difference > 0 else None
    record(order, "lines_amended", actor=actor, reason=reason,
           payload={"changes": {k: list(v) for k, v in described.items()}, "amount": str(difference),
                    "added": {str(pk): units for pk, units in added.items()},
                    "payment": payment.pk if payment else None})  # fmt: skip
    emit("order.amended", subject=order, merchant_id=order.merchant_id,
         payload=order_payload(order, fields=["lines"]))  # fmt: skip
    if cancels:
        order_cancel(order=order, actor=actor, reason=reason or "Lines changed by amendment", lines=cancels)
    return order_lock(order)


@transaction.atomic
def order_increase_withdraw(*, payment: Payment, actor: Actor, reason: str = "") -> Order:
    """Give up an amendment whose increase was declined: cancel the units it added and lift the
    payment hold the decline placed; the order goes on as it was before. (A substitution's
    original line stays cancelled: amend again to bring it back.)"""
    order = order_lock(payment.order)
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if not payment_increase_declined(payment):
        raise Conflict(f"Payment {payment.pk} is not a declined increase; nothing to withdraw.", code="invalid_state")
    amendment = order.events.filter(name="lines_amended", payload__payment=payment.pk).first()
    added = {int(pk): units for pk, units in ((amendment.payload.get("added") or {}) if amendment else {}).items()}
    open_units = {line.pk: line.qty_open for line in order.lines.filter(pk__in=list(added))}
    cancels = [{"line": pk, "quantity": min(units, open_units[pk])} for pk, units in added.items()
               if min(units, open_units.get(pk, 0)) > 0]  # fmt: skip
    payment.withdraw()
    payment.save()
    reason = reason or "The increase was declined; the added lines are cancelled"
    record(order, "increase_withdrawn", actor=actor, reason=reason,
           payload={"payment": payment.pk, "amount": str(payment.amount)})  # fmt: skip
    if cancels:
        order_cancel(order=order, actor=actor, reason=reason, lines=cancels)
    for hold in payment_holds_of(order, payment):
        hold_resolve(hold=hold, actor=actor, note=reason)
    return order_lock(order)


def _new_line(order: Order, product: Product, position: int, quantity: int, price: Decimal, i: int) -> OrderLine:
    errors = money_errors(price, order.currency, f"lines[{i}].unit_price")
    if quantity < 1:
        errors.append(FieldError(f"lines[{i}].quantity", "min_value", "Must be at least 1."))
    if errors:
        raise InvalidInput(errors)
    return OrderLine.objects.create(order=order, position=position, product=product, sku=product.sku,
                                    name=product.name, unit_price=price, quantity=quantity)  # fmt: skip


def _tax_and_price(order: Order, added: dict[int, int], replaced: dict[int, OrderLine]) -> Decimal:
    """Tax the added units (the provider's rates, else the declared rate of the line, or of the
    line a substitute replaces), add their value to the order's total and return the increase."""
    if not added:
        return Decimal(0)
    lines = {line.pk: line for line in order.lines.all()}
    quote = tax_provider().calculate_shipment(order=order, quantities=added, shipping=Decimal(0))
    cent = Decimal(1).scaleb(-currency_precision(order.currency))
    increase = Decimal(0)
    for pk, units in added.items():
        line = lines[pk]
        before = line.quantity - units
        if quote:
            tax = quote.lines.get(pk, Decimal(0))
        elif before:
            tax = line.tax * units / before
        elif pk in replaced and replaced[pk].unit_price:
            old = replaced[pk]  # its tax per unit of value, on the substitute's value
            tax = old.tax / (old.unit_price * old.quantity) * line.unit_price * units
        else:
            tax = Decimal(0)
        tax = tax.quantize(cent)
        line.tax += tax
        line.save(update_fields=["tax"])
        increase += line.unit_price * units + tax
    order.total += increase
    order.save(update_fields=["total", "updated_at"])
    return increase.quantize(cent)
