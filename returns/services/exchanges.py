"""Exchanges: a return plus replacement lines. The returned goods' value pays for the
replacement (a credit on the original tender); a positive difference is collected through the
gateway with the customer's token, a negative one refunded.

An advance exchange (where the merchant allows it) releases the replacement before the goods
come back; an authorization for their value is held on the customer's token and captured by a
beat job if they have not arrived by the deadline (a time in the database, not a Celery
countdown), or voided when they arrive.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.alerts import exception_raise
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import exchange_payload
from orders.models import CAPTURABLE, Payment, PaymentStatus
from orders.payments.services import payment_authorize_hold, payment_capture, payment_void
from returns.models import Exchange, Return, ReturnStatus
from returns.services.common import SYSTEM, settings_for
from returns.services.replacements import replacement_capture
from returns.timeline import return_record

HOLD_CAPTURED, HOLD_VOIDED = "captured", "voided"
NOT_ARRIVED = [ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.ARRIVED]


def _value(lines: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), Decimal(0))


def exchange_open(*, rma: Return, data: dict[str, Any], expected: Decimal, actor: Actor) -> Exchange:
    """Record the exchange with the return (in its transaction); `expected` is the refund the
    returned units would give, which the replacement is paid with."""
    replacement = _value(data["lines"])
    payment = data.get("payment")
    if data.get("advance") and not settings_for(rma.merchant_id).advance_exchange:
        raise DomainError("Advance exchanges are not offered.", field="exchange.advance", code="advance_not_allowed")
    if (replacement > expected or data.get("advance")) and not payment:
        raise InvalidInput(
            [
                FieldError(
                    "exchange.payment", "required", "A payment token is needed for the difference or the advance hold."
                )
            ]
        )
    exchange = Exchange.objects.create(
        rma=rma,
        lines=[{**line, "unit_price": str(line["unit_price"])} for line in data["lines"]],
        payment=payment or {},
        returned_value=expected,
        replacement_value=replacement,
        difference=replacement - expected,
        advance=bool(data.get("advance")),
    )
    return_record(
        rma,
        "exchange",
        actor=actor,
        payload={"replacement_value": str(replacement), "difference": str(exchange.difference)},
    )
    return exchange


def _original_tender(rma: Return) -> Payment:
    return (
        Payment.objects.filter(order=rma.order, status__in=["captured", "partially_refunded", "partially_captured"])
        .order_by("pk")
        .first()
        or Payment.objects.filter(order=rma.order).first()
    )


def _release(rma: Return, exchange: Exchange, credit: Decimal, actor: Actor) -> None:
    """Capture the replacement order: `credit` from the original tender, the rest on the token."""
    tender = _original_tender(rma)
    payments: list[dict[str, Any]] = []
    if credit > 0:
        payments.append(
            {"gateway": tender.gateway, "transaction_type": "capture", "token": tender.token, "amount": credit}
        )
    if exchange.replacement_value > credit:
        payments.append(
            {
                "gateway": exchange.payment["gateway"],
                "transaction_type": "authorize",
                "token": exchange.payment["token"],
                "amount": exchange.replacement_value - credit,
            }
        )
    replacement = replacement_capture(
        original=rma.order,
        external_id=f"{rma.number}-EXCHANGE",
        lines=exchange.lines,
        payments=payments,
        note=f"Exchange for return {rma.number} of order {rma.order.number}",
        actor=actor,
    )
    with transaction.atomic():
        Exchange.objects.filter(pk=exchange.pk).update(replacement_order=replacement)
        exchange.replacement_order = replacement
        return_record(rma, "replacement_order", actor=actor, payload={"order": replacement.number})
        emit(
            "exchange.created",
            subject=rma,
            merchant_id=rma.merchant_id,
            payload=exchange_payload(rma, exchange),
        )


def exchange_advance_release(*, rma: Return, actor: Actor) -> Exchange | None:
    """Release an advance exchange of an authorized return: hold the authorization, then capture
    the replacement. A refused authorization turns it into a standard exchange (recorded).
    Call outside a transaction (the gateway is called)."""
    exchange = Exchange.objects.filter(rma=rma, advance=True, replacement_order__isnull=True).first()
    if exchange is None or rma.status not in NOT_ARRIVED:
        return None
    amount = min(exchange.returned_value, exchange.replacement_value)
    hold = payment_authorize_hold(
        order=rma.order,
        gateway=exchange.payment["gateway"],
        token=exchange.payment["token"],
        amount=amount,
        actor=actor,
    )
    if hold.status != PaymentStatus.AUTHORIZED:
        Exchange.objects.filter(pk=exchange.pk).update(advance=False)
        return_record(
            rma,
            "advance_refused",
            actor=actor,
            reason="The gateway refused the authorization to hold; the replacement ships once the return arrives.",
        )
        return None
    days = settings_for(rma.merchant_id).advance_exchange_days
    Exchange.objects.filter(pk=exchange.pk).update(
        hold_payment=hold, capture_due_at=timezone.now() + timedelta(days=days)
    )
    _release(rma, exchange, amount, actor)
    return exchange


def exchange_refund_due(*, rma: Return, total: Decimal, actor: Actor) -> Decimal:
    """At settlement: what is left to refund of `total` (the accepted units' refund) once the
    replacement is paid. A standard exchange's replacement is captured now; an advance
    exchange's hold is settled (the shortfall of what came back captured, the rest voided)."""
    exchange = Exchange.objects.filter(rma=rma).select_related("hold_payment").first()
    if exchange is None:
        return total
    if not exchange.advance:
        credit = min(total, exchange.replacement_value)
        if exchange.replacement_order_id is None:
            _release(rma, exchange, credit, actor)
        return total - credit
    credit = min(exchange.returned_value, exchange.replacement_value)
    hold = exchange.hold_payment
    captured = Decimal(0)
    if exchange.hold_settled == HOLD_CAPTURED and hold is not None:
        captured = hold.captured_amount
    elif hold is not None and hold.status in CAPTURABLE:
        shortfall = max(Decimal(0), credit - total)
        if shortfall:
            payment_capture(
                payment=hold,
                actor=actor,
                amount=min(shortfall, hold.capturable_amount),
                reference=f"{rma.number}-shortfall",
            )
            captured = shortfall
        if Payment.objects.get(pk=hold.pk).capturable_amount > 0:
            payment_void(payment=hold, actor=actor)
        Exchange.objects.filter(pk=exchange.pk).update(hold_settled=HOLD_VOIDED)
        return max(Decimal(0), total - credit)
    return max(Decimal(0), total - credit + captured)


def exchanges_capture_due(*, now: datetime | None = None) -> int:
    """Beat job: capture the held authorization of advance exchanges whose goods have not
    arrived by the deadline."""
    now = now or timezone.now()
    due = Exchange.objects.filter(
        advance=True, hold_settled="", hold_payment__isnull=False, capture_due_at__lte=now, rma__status__in=NOT_ARRIVED
    ).select_related("rma__order", "hold_payment")
    captured = 0
    for exchange in list(due[:500]):
        try:
            txn = payment_capture(
                payment=exchange.hold_payment, actor=SYSTEM, reference=f"{exchange.rma.number}-deadline"
            )
        except Conflict as exc:
            txn, reason = None, exc.message
        if txn is not None and txn.outcome == "succeeded":
            Exchange.objects.filter(pk=exchange.pk, hold_settled="").update(hold_settled=HOLD_CAPTURED)
            return_record(
                exchange.rma,
                "advance_hold_captured",
                actor=SYSTEM,
                reason=f"The return had not arrived by {exchange.capture_due_at:%Y-%m-%d}",
                payload={"amount": str(txn.amount)},
            )
            captured += 1
        elif txn is None or txn.outcome != "pending":
            reason = txn.decline_code if txn is not None else reason
            exception_raise(
                type="advance_exchange_capture_failed",
                subject=exchange.rma,
                merchant=exchange.rma.merchant,
                message=f"Capturing the hold of {exchange.rma.number} failed: {reason}",
            )
    return captured
