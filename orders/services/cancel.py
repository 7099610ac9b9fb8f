"""Cancellation of a whole order or of line quantities not yet shipped."""

from __future__ import annotations

from collections.abc import Callable

from django.db import transaction

from oms.actors import Actor
from oms.bulk import update_together
from oms.errors import Conflict, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import order_payload
from orders.models import CANCELLABLE, ROUTED, Order, OrderLine, OrderStatus
from orders.payments.services import CancelPreview, payments_cancel_preview, payments_on_order_cancel
from orders.services.holds import holds_close_all, order_lock
from orders.services.status import order_status_reconcile
from orders.services.timeline import record, run_transition

LINE_CANCELLABLE = {*CANCELLABLE, OrderStatus.PARTIALLY_SHIPPED}

# Fulfilment registers a hook here (its AppConfig.ready()): given the locked order and the
# quantities to cancel per line id, it cancels what no node has picked yet (releasing the stock)
# and returns the quantities a node has already picked: those wait for the node to confirm.
CancelHook = Callable[[Order, dict[int, int], Actor, str], dict[int, int]]
_cancel_hooks: list[CancelHook] = []


def register_cancel_hook(hook: CancelHook) -> None:
    if hook not in _cancel_hooks:
        _cancel_hooks.append(hook)


def _requested(lines: dict[int, OrderLine], asked: list[dict[str, int]] | None) -> dict[int, int]:
    """Map line id -> quantity to cancel; everything still open when `asked` is None."""
    if asked is None:
        return {pk: line.qty_open for pk, line in lines.items() if line.qty_open}
    errors = [
        FieldError(f"lines[{i}].line", "invalid", f"Line {item['line']} is not a line of this order.")
        for i, item in enumerate(asked)
        if item["line"] not in lines
    ]
    if errors:
        raise InvalidInput(errors)
    wanted: dict[int, int] = {}
    for item in asked:
        wanted[item["line"]] = wanted.get(item["line"], 0) + item["quantity"]
    for i, (pk, quantity) in enumerate(wanted.items()):
        line = lines[pk]
        if quantity > line.qty_open:
            raise Conflict(
                f"Line {pk} ({line.sku}) has {line.qty_open} unit(s) left to cancel, not {quantity}.",
                field=f"lines[{i}].quantity",
                code="exceeds_open_quantity",
            )
    return wanted


@transaction.atomic
def order_cancel(*, order: Order, actor: Actor, reason: str, lines: list[dict[str, int]] | None = None) -> Order:
    """Cancel the whole order (lines=None) or the given line quantities."""
    order = order_lock(order)
    if order.status not in LINE_CANCELLABLE or (lines is None and order.status not in CANCELLABLE):
        raise Conflict(f"Order {order.number} is {order.status}; it can no longer be cancelled.", code="invalid_state")
    order_lines = {line.pk: line for line in order.lines.select_for_update()}
    wanted = _requested(order_lines, lines)
    if not wanted:
        raise Conflict(f"Order {order.number} has nothing left to cancel.", code="invalid_state")
    pending: dict[int, int] = {}
    for hook in _cancel_hooks:
        for pk, quantity in hook(order, wanted, actor, reason).items():
            pending[pk] = pending.get(pk, 0) + quantity
    if pending:
        # Picked units: cancelled only once the node confirms (the API answers 202 meanwhile).
        order.cancellation_pending = pending  # type: ignore[attr-defined]
        asked = [{"line": pk, "sku": order_lines[pk].sku, "quantity": q} for pk, q in pending.items()]
        record(order, "cancellation_requested", actor=actor, reason=reason, payload={"lines": asked})
        wanted = {pk: q - pending.get(pk, 0) for pk, q in wanted.items() if q > pending.get(pk, 0)}
        if not wanted:
            return order
    for pk, quantity in wanted.items():
        order_lines[pk].qty_cancelled += quantity
        order_lines[pk].qty_backordered = max(0, order_lines[pk].qty_backordered - quantity)
    update_together([order_lines[pk] for pk in wanted], ["qty_cancelled", "qty_backordered"])
    detail = {"lines": [{"line": pk, "sku": order_lines[pk].sku, "quantity": q} for pk, q in wanted.items()]}
    if all(line.qty_open == 0 and line.qty_shipped == 0 for line in order_lines.values()):
        holds_close_all(order=order, actor=actor, note=f"Order cancelled: {reason}")
        run_transition(order, "cancel", actor=actor, event_type="order.cancelled", reason=reason, payload=detail)
    else:
        record(order, "partially_cancel", actor=actor, reason=reason, payload=detail)
        emit(
            "order.partially_cancelled",
            subject=order,
            merchant_id=order.merchant_id,
            payload=order_payload(order, reason=reason, **detail),
        )
        if order.status in (*ROUTED, OrderStatus.PARTIALLY_SHIPPED):
            # E.g. cancelling the backordered units of a partially allocated order allocates it;
            # cancelling what a partially shipped order still waits for ships it.
            order_status_reconcile(order, actor=actor, reason=f"Cancelled: {reason}")
    # Void what is only authorized, refund what was captured (orders/payments/services.py).
    payments_on_order_cancel(order=order, actor=actor, reason=reason, lines=wanted)
    return order


def order_cancel_preview(*, order: Order, lines: list[dict[str, int]] | None = None) -> CancelPreview:
    """What order_cancel would do to the money (value, refund, void), checked the same way and
    changing nothing: shown before the CSR or the merchant confirms."""
    if order.status not in LINE_CANCELLABLE or (lines is None and order.status not in CANCELLABLE):
        raise Conflict(f"Order {order.number} is {order.status}; it can no longer be cancelled.", code="invalid_state")
    wanted = _requested({line.pk: line for line in order.lines.all()}, lines)
    if not wanted:
        raise Conflict(f"Order {order.number} has nothing left to cancel.", code="invalid_state")
    return payments_cancel_preview(order=order, lines=wanted)
