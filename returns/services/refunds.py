"""The money of a return: the refund amount computed (never typed), issued once through the
orders refund service, and the return completed when it succeeded."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from inventory.models import Node
from oms.actors import Actor
from oms.errors import Conflict
from oms.money import money_text
from oms.refs import Ref
from orders.models import Order, Payment
from orders.payments.models import Refund
from orders.payments.services import refund_issue
from orders.services.holds import order_lock
from returns.models import Return, ReturnStatus
from returns.services.common import return_lock, settings_for
from returns.services.exchanges import exchange_refund_due
from returns.services.quotes import RefundQuote, return_quote
from returns.services.receiving import return_inspect
from returns.timeline import return_record, return_transition


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
    due = exchange_refund_due(rma=rma, total=quote.total, actor=actor)
    amount = min(due, refundable(rma.order))
    # A concurrent request may have refunded it already (so nothing is left to refund): that
    # refund is this return's, not "nothing due".
    refund = Refund.objects.filter(source=source_of(rma)).exclude(status=Refund.Status.FAILED).first()
    if refund is None and amount > 0:
        lines = [{"line": pk, "quantity": qty} for pk, qty in quote.quantities.items()]
        refund = refund_issue(
            order=rma.order, amount=amount, reason=f"Return {rma.number}", actor=actor, lines=lines,
            source=source_of(rma), tax=quote.tax + quote.shipping_tax,
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
    reason = f"Refunded {money_text(amount, rma.order.currency)}"
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
