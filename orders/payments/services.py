"""Payment use cases: record at order capture, the payment rule (-> ready), capture, void,
refund, re-authorization, and what cancellation and CSR resolution do to payments.

Money moves through orders.payments.executor: a pending call row is committed first, the
gateway is called outside any lock, and the outcome is recorded under the locks
(order, then payment), where the handlers below run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from oms.actors import Actor
from oms.alerts import exception_raise
from oms.caches import ProcessCache
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.money import money_text
from oms.outbox import emit, enqueue_after_commit
from oms.payloads import payment_payload, refund_payload
from orders.chain import order_chain_run
from orders.models import CAPTURABLE, HOLDABLE, Hold, Order, OrderStatus, Payment, PaymentStatus
from orders.payments import executor
from orders.payments.executor import Outcome, Txn
from orders.payments.gateways import gateway_codes, gateway_get
from orders.payments.models import CaptureTiming, MerchantPaymentSettings, Refund
from orders.services.holds import hold_place, hold_resolve, holds_resolve_of_type, order_lock
from orders.services.timeline import record, run_transition
from orders.validation import currency_precision

SYSTEM = Actor.system("payments")
# Order states in which a payment decline or a lapsing authorization still matters.
_LIVE = {*HOLDABLE, OrderStatus.ON_HOLD}


# Amounts.


def _places(currency: str) -> Decimal:
    return Decimal(1).scaleb(-currency_precision(currency))


def order_amount_due(order: Order) -> Decimal:
    """The order's value after cancellations: what the payments must cover."""
    lines = list(order.lines.all())
    if lines and all(line.qty_cancelled >= line.quantity for line in lines):
        return Decimal(0)
    cancelled = sum(
        (line.line_total * line.qty_cancelled / line.quantity for line in lines if line.qty_cancelled),
        Decimal(0),
    )
    return max(Decimal(0), (order.total - cancelled).quantize(_places(order.currency)))


def line_value(order: Order, cancelled: dict[int, int]) -> Decimal:
    """Value (with tax, after discount) of the given quantities per line id."""
    lines = {line.pk: line for line in order.lines.all()}
    value = sum(
        (lines[pk].line_total * qty / lines[pk].quantity for pk, qty in cancelled.items() if pk in lines),
        Decimal(0),
    )
    return value.quantize(_places(order.currency))


def _payment_settings(merchant_id: int) -> MerchantPaymentSettings:
    found = MerchantPaymentSettings.objects.filter(merchant_id=merchant_id).first()
    return found or MerchantPaymentSettings(merchant_id=merchant_id)


# Per process: read by every payment step and release, changed rarely (oms.caches).
_PAYMENT_SETTINGS = ProcessCache(
    "orders.payment_settings", _payment_settings, invalidated_by=(MerchantPaymentSettings,)
)


def payment_settings_for(merchant_id: int) -> MerchantPaymentSettings:
    """The merchant's payment rules (capture timing, attempts): the one reader of them."""
    return _PAYMENT_SETTINGS.get(merchant_id)


def _capturing(payment: Payment) -> Decimal:
    """Captures sent (or about to be) whose outcome is not recorded yet."""
    pending = payment.transactions.filter(kind=Txn.Kind.CAPTURE, outcome=Outcome.PENDING)
    return sum((t.amount for t in pending), Decimal(0))


def _locked_payments(order: Order) -> list[Payment]:
    return list(Payment.objects.select_for_update().filter(order=order).order_by("pk"))


def _run_after_commit(txn_ids: list[int], *, actor: Actor, background: bool) -> None:
    """Send prepared calls once the transaction that wrote them commits."""
    if not txn_ids:
        return
    if background:
        from orders.payments.tasks import payment_transactions_execute

        enqueue_after_commit(payment_transactions_execute, txn_ids)
    else:
        transaction.on_commit(partial(executor.execute_many, txn_ids, actor=actor))


def _hold(order: Order, reason: str, *, actor: Actor, details: dict[str, Any]) -> None:
    """A payment hold where the order can still be held; otherwise an alert for Finance."""
    if order.status in _LIVE:
        hold_place(order=order, type=Hold.Type.PAYMENT, reason=reason, actor=actor, details=details)
    else:
        exception_raise(type="payment_problem", subject=order, message=reason, merchant=order.merchant)


# At order capture.


def payments_prepare_at_capture(*, order: Order, payments: list[Payment]) -> None:
    """Set what the channel did on payments not yet saved: a charge it took, or an
    authorization it obtained (with its expiry)."""
    for payment in payments:
        if payment.transaction_type == Payment.TransactionType.CAPTURE:
            payment.record_charge(payment.amount)
        else:
            payment.authorize(payment.amount)
            payment.authorization_reference = payment.token
            payment.authorization_expires_at = order.placed_at + gateway_get(payment.gateway).authorization_ttl


def payments_record_at_capture(
    *, order: Order, payments: list[Payment], actor: Actor
) -> list[tuple[str, Order, dict[str, Any]]]:
    """Record the channel's charges and authorizations (saved payments) as transactions, in one
    INSERT. Return the `payment.captured` events, for the caller to emit with its own."""
    facts = []
    events = []
    for payment in payments:
        if payment.transaction_type == Payment.TransactionType.CAPTURE:
            facts.append(executor.channel_fact(payment, Txn.Kind.CAPTURE, payment.amount, actor=actor))
            events.append(("payment.captured", order, payment_payload(payment, order)))
        else:
            facts.append(executor.channel_fact(payment, Txn.Kind.AUTHORIZE, payment.amount, actor=actor))
    Txn.objects.bulk_create(facts)
    return events


def gateway_errors(payments: list[dict[str, Any]], field: str) -> list[FieldError]:
    known = gateway_codes()
    return [
        FieldError(
            f"{field}.gateway" if field == "payment" else f"{field}[{i}].gateway",
            "invalid",
            f"Unknown gateway; one of {', '.join(known)}.",
        )
        for i, p in enumerate(payments)
        if p["gateway"] not in known
    ]


# The payment rule and the capture job.


def payment_rule_met(order: Order, payments: list[Payment]) -> bool:
    """`ready` needs the money captured, or (capturing later) authorized, for what is due."""
    if any(p.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED) for p in payments):
        return False
    captured = sum((p.captured_amount for p in payments), Decimal(0))
    # What is due never exceeds the total: a captured total needs no look at the lines.
    if captured >= order.total:
        return True
    due = order_amount_due(order)
    if captured >= due:
        return True
    if payment_settings_for(order.merchant_id).capture_timing == CaptureTiming.BEFORE_ALLOCATION:
        return False
    now = timezone.now()
    usable = sum(
        (
            p.capturable_amount
            for p in payments
            if p.authorization_expires_at is None or p.authorization_expires_at > now
        ),
        Decimal(0),
    )
    return captured + usable >= due


def _shares(payments: list[Payment], amount: Decimal) -> list[tuple[Payment, Decimal]]:
    """Split an amount to capture over the payments' capturable amounts, oldest first."""
    shares = []
    for payment in payments:
        if amount <= 0:
            break
        share = min(payment.capturable_amount, amount)
        if share > 0:
            shares.append((payment, share))
            amount -= share
    return shares


def _plan_captures(order: Order, payments: list[Payment], actor: Actor) -> list[int]:
    """Prepare (or find already prepared) capture calls for what is still due."""
    in_flight = Txn.objects.filter(payment__in=payments, kind=Txn.Kind.CAPTURE, outcome=Outcome.PENDING, reference="")
    pending = {t.payment_id: t for t in in_flight}
    remaining = order_amount_due(order) - sum((p.captured_amount for p in payments), Decimal(0))
    remaining -= sum((t.amount for t in pending.values()), Decimal(0))
    ids = [t.pk for t in pending.values()]
    for payment, amount in _shares([p for p in payments if p.pk not in pending], remaining):
        ids.append(executor.prepare(payment, Txn.Kind.CAPTURE, amount, actor=actor).pk)
    return ids


@transaction.atomic
def _advance(order_id: int, actor: Actor) -> tuple[str, list[int]]:
    order = order_lock(Order(pk=order_id))
    # An open hold keeps the order on_hold: a validated order has none.
    if order.status != OrderStatus.VALIDATED:
        return order.status, []
    payments = _locked_payments(order)
    if payment_rule_met(order, payments):
        run_transition(order, "mark_ready", actor=actor, event_type="order.ready")
        return order.status, []
    if payment_settings_for(order.merchant_id).capture_timing != CaptureTiming.BEFORE_ALLOCATION:
        return order.status, []
    return order.status, _plan_captures(order, payments, actor)


def order_advance(*, order_id: int, actor: Actor = SYSTEM) -> str | None:
    """Move a validated order on: `ready` when the payment rule is met, else capture what is
    due (the capture job). Safe to run twice, concurrently too: the second run finds the first
    run's pending capture and sends it with the same idempotency key. Return the status it
    left the order in, when no capture was sent (None: a capture may have moved it)."""
    status, captures = _advance(order_id, actor)
    if not captures:
        return status
    executor.execute_many(captures, actor=actor)
    return None


def order_advance_step(order_id: int, trigger: str, actor: Actor | None, now: datetime | None) -> str | None:
    """The order chain's payment-rule step."""
    return order_advance(order_id=order_id, actor=actor or SYSTEM)


def orders_advance_due(now: datetime, older_than: timedelta | None = None) -> list[int]:
    """Validated orders whose chain never ran (the broker was down): no open hold and no
    gateway call made for them yet (the sweeper's question for the payment-rule step)."""
    older_than = older_than or timedelta(seconds=settings.PIPELINE_STALE_SECONDS)
    lost = (
        Order.objects.filter(status=OrderStatus.VALIDATED, created_at__lt=now - older_than)
        .exclude(Exists(Hold.objects.filter(order=OuterRef("pk"), resolved_at__isnull=True)))
        .exclude(Exists(Txn.objects.filter(payment__order=OuterRef("pk"), source=Txn.Source.GATEWAY)))
        .order_by("created_at")
        .values_list("pk", flat=True)[:200]
    )
    return list(lost)


def payment_capture(
    *, payment: Payment, actor: Actor, amount: Decimal | None = None, reference: str = ""
) -> Txn | None:
    """Capture (part of) an authorization: at release or per shipment (the fulfilment issue
    calls this with the shipment as `reference`), or Finance's button. Asking again with the
    same reference returns the same capture."""
    with transaction.atomic():
        order = order_lock(payment.order)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if reference:
            existing = payment.transactions.filter(kind=Txn.Kind.CAPTURE, reference=reference).order_by("-id").first()
            if existing is not None and existing.outcome in (Outcome.PENDING, Outcome.SUCCEEDED):
                if existing.outcome == Outcome.SUCCEEDED:
                    return existing
                txn = existing
            else:
                txn = None
        else:
            txn = None
        if txn is None:
            available = payment.capturable_amount - _capturing(payment)
            amount = available if amount is None else amount
            if payment.status not in CAPTURABLE or amount <= 0 or amount > available:
                raise Conflict(
                    f"Payment {payment.pk} is {payment.status} with {available} {payment.currency} capturable; "
                    f"cannot capture {amount}.",
                    field="amount",
                    code="not_capturable",
                )
            if order.status == OrderStatus.CANCELLED:
                raise Conflict(f"Order {order.number} is cancelled.", code="invalid_state")
            txn = executor.prepare(payment, Txn.Kind.CAPTURE, amount, actor=actor, reference=reference)
    return executor.execute(txn.pk, actor=actor)


def payment_captures_at(merchant_id: int, timing: CaptureTiming) -> bool:
    """Whether the merchant captures at this step of fulfilment (at release, per shipment)."""
    return payment_settings_for(merchant_id).capture_timing == timing


def payment_capture_units(*, order: Order, units: dict[int, int], reference: str, actor: Actor) -> bool:
    """Capture the value of these units (per order-line id), plus the shipping charge with the
    order's first capture, from its authorizations: fulfilment calls it at release or per
    shipment, with the fulfilment order or shipment as `reference`. Return True once captured;
    False when a capture was declined (the order goes on a payment hold) or is still pending
    (the payments job retries it; asking again with the same reference picks it up). Call
    outside any transaction: it calls the gateway."""
    payments = list(Payment.objects.filter(order=order).order_by("pk"))
    captured = sum((p.captured_amount for p in payments), Decimal(0))
    value = line_value(order, units)
    if captured == 0:
        value += order.shipping_price + order.shipping_tax
    for payment, amount in _shares(payments, min(value, order_amount_due(order) - captured)):
        key = f"{reference}:{payment.pk}"
        waiting = payment.transactions.filter(
            kind=Txn.Kind.CAPTURE, reference=key, outcome=Outcome.PENDING, next_attempt_at__gt=timezone.now()
        )
        if waiting.exists():
            return False  # a retry is scheduled (backoff): the payments job sends it, not us
        txn = payment_capture(payment=payment, actor=actor, amount=amount, reference=key)
        if txn is None or txn.outcome != Outcome.SUCCEEDED:
            return False
    return True


@executor.on_outcome(Txn.Kind.CAPTURE)
def _captured(txn: Txn, payment: Payment, order: Order, actor: Actor) -> None:
    if txn.outcome == Outcome.SUCCEEDED:
        payment.capture(txn.amount)
        payment.save()
        record(order, "payment_captured", actor=actor, payload={"payment": payment.pk, "amount": str(txn.amount)})
        emit(
            "payment.captured",
            subject=order,
            merchant_id=order.merchant_id,
            payload=payment_payload(payment, order, amount_captured=str(txn.amount)),
        )
        if order.status == OrderStatus.CANCELLED:
            # The capture was in flight when the order was cancelled: give the money back.
            refund = _refund_prepare(order, [payment], txn.amount, "Captured after the order was cancelled", [], actor)
            _run_after_commit([t.pk for t in refund.transactions.all()], actor=actor, background=True)
            return
        if order.holds.filter(type=Hold.Type.PAYMENT, resolved_at__isnull=True).exists():
            holds_resolve_of_type(order=order, type=Hold.Type.PAYMENT, actor=actor, note="Payment captured")
        transaction.on_commit(partial(order_chain_run, order_id=order.pk, actor=actor))
        return
    _capture_failed(txn, payment, order, actor)


def _capture_failed(txn: Txn, payment: Payment, order: Order, actor: Actor) -> None:
    if txn.outcome == Outcome.DECLINED:
        if txn.decline_code == "authorization_expired":
            payment.expire()
        else:
            payment.fail()
        payment.save()
        reason = f"Capture declined by {payment.gateway}: {txn.decline_code}" + (
            f" ({txn.message})" if txn.message else ""
        )
    else:
        reason = f"{payment.gateway} did not answer the capture after {txn.attempt} attempts ({txn.decline_code})"
    record(order, "payment_failed", actor=actor, reason=reason, payload={"payment": payment.pk})
    emit(
        "payment.failed",
        subject=order,
        merchant_id=order.merchant_id,
        payload=payment_payload(payment, order, decline_code=txn.decline_code, reason=reason),
    )
    if order.status != OrderStatus.CANCELLED:
        _hold(order, reason, actor=actor, details={"payment": payment.pk, "decline_code": txn.decline_code})


# CSR resolution of a payment hold.


def payment_retry(*, payment: Payment, actor: Actor, token: str | None = None) -> Txn | None:
    """Retry the capture of a failed, expired or stuck payment, with a new token if given; for
    an amendment's increase whose authorization was declined, retry that authorization.

    A new token means a new authorization from the customer: it is recorded on the payment and
    the capture (or the increase's authorization) retried with it. Success resolves the payment
    hold and the order goes on.
    """
    with transaction.atomic():
        order = order_lock(payment.order)
        if order.status == OrderStatus.CANCELLED:
            raise Conflict(f"Order {order.number} is cancelled.", code="invalid_state")
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.transaction_type == Payment.TransactionType.CAPTURE:
            raise Conflict("The channel already captured this payment; nothing to retry.", code="invalid_state")
        increase = payment_increase_declined(payment)
        if increase:
            payment.ask_again()
        elif payment.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED):
            payment.reopen()
        elif payment.status not in CAPTURABLE:
            raise Conflict(f"Payment {payment.pk} is {payment.status}; nothing to retry.", code="invalid_state")
        if token:
            previous = payment.token
            payment.token = token
            payment.authorization_reference = token
            payment.authorization_expires_at = timezone.now() + gateway_get(payment.gateway).authorization_ttl
            record(
                order,
                "payment_token_replaced",
                actor=actor,
                payload={"payment": payment.pk, "previous": _mask(previous), "token": _mask(token)},
            )
        payment.save()
        if increase:  # the difference is authorized again; success lifts the hold it caused
            txn = executor.prepare(payment, Txn.Kind.AUTHORIZE, payment.amount, actor=actor, reference=INCREASE)
        else:
            txn = _retry_capture_call(order, payment, actor, new_token=bool(token))
    return executor.execute(txn.pk, actor=actor) if txn is not None else None


def _retry_capture_call(order: Order, payment: Payment, actor: Actor, *, new_token: bool) -> Txn | None:
    latest = payment.transactions.filter(kind=Txn.Kind.CAPTURE, reference="").order_by("-id").first()
    if not new_token and latest is not None and latest.outcome in (Outcome.PENDING, Outcome.ERROR):
        # The last capture got no answer: it may have gone through, so the retry carries its
        # idempotency key (the gateway then charges at most once).
        if latest.outcome == Outcome.PENDING:
            return latest
        return executor.retry_of(latest, at=timezone.now() + executor.sweep_grace(), created_by=actor.label)
    # A new token is a new authorization: calls still pending on the old one are superseded.
    payment.transactions.filter(kind=Txn.Kind.CAPTURE, outcome=Outcome.PENDING).update(
        outcome=Outcome.CANCELLED, next_attempt_at=None, completed_at=timezone.now()
    )
    remaining = order_amount_due(order) - sum(
        (p.captured_amount for p in Payment.objects.filter(order=order)), Decimal(0)
    )
    amount = min(payment.capturable_amount, max(remaining, Decimal(0)))
    if amount <= 0:
        holds_resolve_of_type(order=order, type=Hold.Type.PAYMENT, actor=actor, note="Payment retried")
        transaction.on_commit(partial(order_chain_run, order_id=order.pk, actor=actor))
        return None
    return executor.prepare(payment, Txn.Kind.CAPTURE, amount, actor=actor)


def payment_for_new_token(*, order: Order) -> Payment:
    """The payment a new token from the merchant is for: the one that failed or expired."""
    payments = list(order.payments.order_by("pk"))
    for wanted in ((PaymentStatus.FAILED, PaymentStatus.EXPIRED), tuple(CAPTURABLE)):
        for payment in payments:
            if payment.status in wanted and payment.transaction_type == Payment.TransactionType.AUTHORIZE:
                return payment
    raise Conflict(f"Order {order.number} has no payment waiting for a new token.", code="invalid_state")


def _mask(token: str) -> str:
    return f"…{token[-4:]}" if len(token) > 8 else "…"


# Voids, refunds and cancellation.


def payment_void(*, payment: Payment, actor: Actor) -> Txn:
    """Release what is left of an authorization (Finance's button; cancellation does it too)."""
    with transaction.atomic():
        order_lock(payment.order)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        left = payment.capturable_amount - _capturing(payment)
        if left <= 0:
            raise Conflict(f"Payment {payment.pk} is {payment.status}; nothing to void.", code="invalid_state")
        txn = executor.prepare(payment, Txn.Kind.VOID, left, actor=actor)
    return executor.execute(txn.pk, actor=actor)


@executor.on_outcome(Txn.Kind.VOID)
def _voided(txn: Txn, payment: Payment, order: Order, actor: Actor) -> None:
    if txn.outcome == Outcome.SUCCEEDED:
        if payment.status in CAPTURABLE:
            payment.void()
            payment.save()
        record(order, "payment_voided", actor=actor, payload={"payment": payment.pk, "amount": str(txn.amount)})
        return
    exception_raise(
        type="payment_void_failed",
        subject=order,
        message=f"Void of {money_text(txn.amount, txn.currency)} on payment {payment.pk} failed: {txn.decline_code}",
        merchant=order.merchant,
    )


def _refund_tax(order: Order, amount: Decimal, lines: list[dict[str, int]]) -> Decimal:
    from orders.tax.services import refund_tax

    return refund_tax(order=order, amount=amount, lines=lines)


def _refund_prepare(
    order: Order,
    payments: list[Payment],
    amount: Decimal,
    reason: str,
    lines: list[dict[str, Any]],
    actor: Actor,
    source: str = "",
    tax: Decimal | None = None,
) -> Refund:
    """Reserve `amount` against the payments (last tender first) and prepare the calls.

    The caller holds the order and payment locks; the reservation (refund_pending_amount) is
    what makes two concurrent refunds unable to exceed what was captured.
    """
    refund = Refund.objects.create(
        order=order,
        amount=amount,
        tax_amount=min(amount, tax) if tax is not None else _refund_tax(order, amount, lines),
        currency=order.currency,
        reason=reason[:500],
        lines=lines,
        source=source,
        created_by=actor.label[:150],
    )
    left = amount
    for payment in sorted(payments, key=lambda p: p.pk, reverse=True):
        part = min(payment.refundable_amount, left)
        if part <= 0:
            continue
        payment.refund_pending_amount += part
        payment.save()
        executor.prepare(payment, Txn.Kind.REFUND, part, actor=actor, refund=refund)
        left -= part
    assert left == 0, "refund larger than what is refundable"
    return refund


def refund_create(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    actor: Actor,
    lines: list[dict[str, int]] | None = None,
    source: str = "",
    tax: Decimal | None = None,
) -> Refund:
    """Record a refund and reserve it against the captured payments (no gateway call yet).

    With a `source` (what the refund is for), asking again returns the first refund: the check
    runs under the order lock, so concurrent requests for one source queue and refund once.
    `tax`: its tax part when the caller computed it (a return's); else from the lines.
    """
    return _refund_create(order, amount, reason, actor, lines or [], source, tax)[0]


def _refund_create(
    order: Order,
    amount: Decimal,
    reason: str,
    actor: Actor,
    lines: list[dict[str, int]],
    source: str,
    tax: Decimal | None = None,
) -> tuple[Refund, bool]:
    with transaction.atomic():
        order = order_lock(order)
        # A failed refund does not count: asking again for its source tries again.
        mine = Refund.objects.filter(order=order, source=source).exclude(status=Refund.Status.FAILED)
        if source and (existing := mine.first()) is not None:
            return existing, False
        payments = _locked_payments(order)
        refundable = sum((p.refundable_amount for p in payments), Decimal(0))
        if amount <= 0:
            raise InvalidInput([FieldError("amount", "min_value", "A refund is more than zero.")])
        if amount > refundable:
            raise Conflict(
                f"Refund of {money_text(amount, order.currency)} exceeds what can be refunded "
                f"({money_text(refundable, order.currency)}: captured minus "
                "refunded and refunds in flight).",
                field="amount",
                code="over_refund",
            )
        detail = _refund_lines(order, lines)
        refund = _refund_prepare(order, payments, amount, reason, detail, actor, source, tax)
        record(
            order, "refund_requested", actor=actor, reason=reason, payload={"refund": refund.pk, "amount": str(amount)}
        )
    return refund, True


def _refund_lines(order: Order, lines: list[dict[str, int]]) -> list[dict[str, Any]]:
    known = {line.pk: line for line in order.lines.all()}
    errors = []
    out = []
    for i, item in enumerate(lines):
        line = known.get(item["line"])
        if line is None:
            errors.append(
                FieldError(f"lines[{i}].line", "invalid", f"Line {item['line']} is not a line of this order.")
            )
        elif item["quantity"] > line.quantity:
            errors.append(
                FieldError(f"lines[{i}].quantity", "max_value", f"Line {line.pk} has {line.quantity} unit(s).")
            )
        else:
            out.append({"line": line.pk, "sku": line.sku, "quantity": item["quantity"]})
    if errors:
        raise InvalidInput(errors)
    return out


def refund_issue(
    *,
    order: Order,
    amount: Decimal,
    reason: str,
    actor: Actor,
    lines: list[dict[str, int]] | None = None,
    source: str = "",
    tax: Decimal | None = None,
) -> Refund:
    """Refund now: reserve, call the gateway, return the refund with its outcome.

    A refund whose gateway call timed out stays `pending` and is retried by the sweeper. A
    repeat for the same `source` returns the first refund as it stands (its calls are the
    first request's, or the sweeper's, to send).
    """
    refund, created = _refund_create(order, amount, reason, actor, lines or [], source, tax)
    if not created:
        return refund
    executor.execute_many(list(refund.transactions.values_list("pk", flat=True)), actor=actor)
    refund = Refund.objects.get(pk=refund.pk)
    if refund.status == Refund.Status.FAILED:
        failed = refund.transactions.exclude(outcome=Outcome.SUCCEEDED).first()
        code = failed.decline_code if failed else "declined"
        raise DomainError(f"The gateway refused the refund: {code}.", field="amount", code="refund_declined")
    return refund


@executor.on_outcome(Txn.Kind.REFUND)
def _refunded(txn: Txn, payment: Payment, order: Order, actor: Actor) -> None:
    refund = Refund.objects.select_for_update().get(pk=txn.refund_id)
    if txn.outcome == Outcome.SUCCEEDED:
        payment.refund(txn.amount)
        payment.save()
    else:
        payment.refund_pending_amount -= txn.amount
        payment.save()
        refund.status = Refund.Status.FAILED
        refund.completed_at = timezone.now()
        refund.save()
        exception_raise(
            type="refund_failed",
            subject=order,
            message=f"Refund of {money_text(txn.amount, txn.currency)} failed at {payment.gateway}: {txn.decline_code}",
            merchant=order.merchant,
        )
        return
    open_calls = refund.transactions.exclude(pk=txn.pk).filter(outcome=Outcome.PENDING).exists()
    if open_calls or refund.status != Refund.Status.PENDING:
        return
    refund.status = Refund.Status.SUCCEEDED
    refund.completed_at = timezone.now()
    refund.save()
    record(
        order,
        "refund_issued",
        actor=actor,
        reason=refund.reason,
        payload={"refund": refund.pk, "amount": str(refund.amount)},
    )
    emit(
        "refund.issued",
        subject=order,
        merchant_id=order.merchant_id,
        payload=refund_payload(refund, order),
    )


def _partial_refund(payments: list[Payment], value: Decimal, due_after: Decimal) -> Decimal:
    """What a partial cancellation worth `value` refunds: only what was captured beyond what
    the order is worth afterwards (`due_after`), and never more than the value."""
    refundable = min(value, sum((p.refundable_amount for p in payments), Decimal(0)))
    captured = sum((p.captured_amount - p.refunded_amount - p.refund_pending_amount for p in payments), Decimal(0))
    return min(refundable, max(Decimal(0), captured - due_after))


@dataclass(frozen=True)
class CancelPreview:
    value: Decimal
    refund: Decimal
    void: Decimal
    whole: bool


def payments_cancel_preview(*, order: Order, lines: dict[int, int]) -> CancelPreview:
    """What cancelling these quantities per line id would do to the money, before it is done:
    the value cancelled, the refund of captured money, the void of what is only authorized."""
    payments = list(order.payments.all())
    value = line_value(order, lines)
    open_after = {line.pk: line.qty_open - lines.get(line.pk, 0) for line in order.lines.all()}
    whole = all(q <= 0 for q in open_after.values()) and not any(line.qty_shipped for line in order.lines.all())
    if whole:
        void = sum((p.capturable_amount - _capturing(p) for p in payments), Decimal(0))
        refund = sum((p.refundable_amount for p in payments), Decimal(0))
    else:
        void = Decimal(0)
        refund = _partial_refund(payments, value, order_amount_due(order) - value)
    return CancelPreview(value=value, refund=refund, void=max(void, Decimal(0)), whole=whole)


def payments_on_order_cancel(*, order: Order, actor: Actor, reason: str, lines: dict[int, int] | None) -> None:
    """Cancellation hook (in order_cancel's transaction, order locked): void what is only
    authorized and refund what was captured; for a partial cancellation, refund the value of
    the cancelled quantities from what was captured (an uncaptured authorization simply gets
    captured for less later)."""
    payments = _locked_payments(order)
    ids: list[int] = []
    if order.status == OrderStatus.CANCELLED:
        for payment in payments:
            left = payment.capturable_amount - _capturing(payment)
            if left > 0:
                ids.append(executor.prepare(payment, Txn.Kind.VOID, left, actor=actor).pk)
        refundable = sum((p.refundable_amount for p in payments), Decimal(0))
    else:
        refundable = _partial_refund(payments, line_value(order, lines or {}), order_amount_due(order))
    if refundable > 0:
        refund = _refund_prepare(order, payments, refundable, f"Order cancelled: {reason}", [], actor)
        ids += [t.pk for t in refund.transactions.all()]
    _run_after_commit(ids, actor=actor, background=True)


# Authorizations that lapse.


def payment_authorize_hold(*, order: Order, gateway: str, token: str, amount: Decimal, actor: Actor) -> Payment:
    """Authorize a new payment on the order through the gateway and hold it (nothing captured):
    security for goods the customer still has (an advance exchange). Return the payment with the
    outcome: `authorized`, or `failed` when the gateway refused. Call outside a transaction."""
    with transaction.atomic():
        order_lock(order)
        payment = Payment.objects.create(
            order=order, gateway=gateway, transaction_type=Payment.TransactionType.AUTHORIZE, token=token,
            amount=amount, currency=order.currency,
        )  # fmt: skip
        txn = executor.prepare(payment, Txn.Kind.AUTHORIZE, amount, actor=actor)
    executor.execute(txn.pk, actor=actor)
    return Payment.objects.get(pk=payment.pk)


@executor.on_outcome(Txn.Kind.REAUTHORIZE)
def _reauthorized(txn: Txn, payment: Payment, order: Order, actor: Actor) -> None:
    if payment.status == PaymentStatus.PENDING:  # a first authorization (payment_authorize_hold)
        if txn.outcome == Outcome.SUCCEEDED:
            payment.authorize(txn.amount)
            payment.authorization_reference = txn.gateway_reference
            payment.authorization_expires_at = timezone.now() + gateway_get(payment.gateway).authorization_ttl
        else:
            payment.fail()
        payment.save()
        record(order, "payment_authorized" if txn.outcome == Outcome.SUCCEEDED else "payment_authorization_refused",
               actor=actor, payload={"payment": payment.pk, "amount": str(txn.amount)})  # fmt: skip
        return
    if txn.outcome == Outcome.SUCCEEDED:
        if payment.status in (PaymentStatus.FAILED, PaymentStatus.EXPIRED):
            payment.reopen()
        payment.authorization_reference = txn.gateway_reference
        payment.authorization_expires_at = getattr(txn, "expires_at", None) or (
            timezone.now() + gateway_get(payment.gateway).authorization_ttl
        )
        payment.save()
        record(order, "payment_reauthorized", actor=actor, payload={"payment": payment.pk})
        return
    reason = f"Re-authorization refused by {payment.gateway}: {txn.decline_code or 'no answer'}"
    emit(
        "payment.failed",
        subject=order,
        merchant_id=order.merchant_id,
        payload=payment_payload(payment, order, decline_code=txn.decline_code, reason=reason),
    )
    _hold(order, reason, actor=actor, details={"payment": payment.pk, "decline_code": txn.decline_code})


def payments_reauthorize_due(*, now: datetime | None = None) -> int:
    """Beat job: renew authorizations about to lapse on orders still waiting for capture
    (backorders, say); hold the order for a CSR where the gateway cannot, or refuses."""
    now = now or timezone.now()
    lookahead = MerchantPaymentSettings.objects.aggregate(h=Max("reauthorize_hours_before"))["h"] or 24
    lookahead = max(lookahead, 24)
    candidates = list(
        Payment.objects.filter(
            status__in=CAPTURABLE,
            authorization_expires_at__lte=now + timedelta(hours=lookahead),
            order__status__in=list(_LIVE),
        ).values_list("pk", "order__merchant_id")
    )
    ids: list[int] = []
    for payment_id, merchant_id in candidates:
        window = timedelta(hours=payment_settings_for(merchant_id).reauthorize_hours_before)
        txn_id = _reauthorize_prepare(payment_id, now, window)
        if txn_id:
            ids.append(txn_id)
    executor.execute_many(ids, actor=SYSTEM)
    return len(candidates)


@transaction.atomic
def _reauthorize_prepare(payment_id: int, now: datetime, window: timedelta) -> int | None:
    payment = Payment.objects.select_related("order").get(pk=payment_id)
    order = order_lock(payment.order)
    payment = Payment.objects.select_for_update().get(pk=payment_id)
    expires = payment.authorization_expires_at
    if payment.status not in CAPTURABLE or expires is None or expires > now + window or order.status not in _LIVE:
        return None
    if payment.transactions.filter(kind=Txn.Kind.REAUTHORIZE, outcome=Outcome.PENDING).exists():
        return None
    if order.holds.filter(type=Hold.Type.PAYMENT, resolved_at__isnull=True).exists():
        return None  # a CSR is already on it
    gateway = gateway_get(payment.gateway)
    if expires <= now:
        payment.expire()
        payment.save()
        _hold(
            order,
            f"The authorization expired on {expires:%Y-%m-%d %H:%M} UTC.",
            actor=SYSTEM,
            details={"payment": payment.pk},
        )
        return None
    if not gateway.supports_reauthorization:
        _hold(
            order,
            f"The authorization expires on {expires:%Y-%m-%d %H:%M} UTC and {payment.gateway} cannot renew it; "
            "ask the customer for a new payment.",
            actor=SYSTEM,
            details={"payment": payment.pk},
        )
        return None
    return executor.prepare(payment, Txn.Kind.REAUTHORIZE, payment.capturable_amount, actor=SYSTEM).pk


def payments_retry_due(*, now: datetime | None = None) -> int:
    """Beat job: send calls whose backoff has elapsed, and calls whose job was lost."""
    ids = executor.due(now or timezone.now())
    executor.execute_many(ids, actor=SYSTEM)
    return len(ids)


# An amendment that raises the order's value before release.


def payments_cover_increase(*, order: Order, amount: Decimal, actor: Actor) -> Payment | None:
    """Pay for an increase (in the amendment's transaction, order locked): a new authorization
    of the difference on the customer's payment method, sent after commit; its capture follows
    the merchant's capture timing like the rest (captured at once if the order's money was
    already taken). A decline, or no payment method to charge, puts the order on a payment hold."""
    usable = [p for p in _locked_payments(order) if p.status not in (PaymentStatus.FAILED, PaymentStatus.VOIDED)]
    source = next((p for p in reversed(usable) if p.transaction_type == Payment.TransactionType.AUTHORIZE), None)
    source = source or (usable[-1] if usable else None)
    if source is None:
        _hold(order, f"No payment method to charge the increase of {money_text(amount, order.currency)}.", actor=actor,
              details={"amount": str(amount)})  # fmt: skip
        return None
    payment = Payment.objects.create(
        order=order,
        gateway=source.gateway,
        transaction_type=Payment.TransactionType.AUTHORIZE,
        token=source.token,
        amount=amount,
        currency=order.currency,
    )
    txn = executor.prepare(payment, Txn.Kind.AUTHORIZE, amount, actor=actor, reference=INCREASE)
    transaction.on_commit(partial(executor.execute, txn.pk, actor=actor))
    return payment


# The reference of an increase's authorization, which its outcome handler tells from the others.
INCREASE = "amendment increase"


def payment_increase_declined(payment: Payment) -> bool:
    """Whether this is an amendment's increase whose authorization was declined (nothing held)."""
    return (
        payment.status == PaymentStatus.FAILED
        and not payment.authorized_amount
        and payment.transactions.filter(kind=Txn.Kind.AUTHORIZE, reference=INCREASE).exists()
    )


def payment_holds_of(order: Order, payment: Payment) -> list[Hold]:
    """The open payment holds this payment's failure placed."""
    return list(order.holds.filter(type=Hold.Type.PAYMENT, resolved_at__isnull=True, details__payment=payment.pk))


@executor.on_outcome(Txn.Kind.AUTHORIZE)
def _authorized(txn: Txn, payment: Payment, order: Order, actor: Actor) -> None:
    """An increase's authorization: a decline holds the order; success is captured at once when
    the order's money was already taken. Any other first authorization (payment_authorize_hold,
    security for an advance exchange) is only held, or failed."""
    if txn.reference != INCREASE:
        _reauthorized(txn, payment, order, actor)
        return
    if txn.outcome != Outcome.SUCCEEDED:
        payment.fail()
        payment.save()
        reason = (
            f"Authorization of the increase ({money_text(txn.amount, txn.currency)}) declined by {payment.gateway}: "
            + (txn.decline_code or "no answer")
        )
        record(order, "payment_failed", actor=actor, reason=reason, payload={"payment": payment.pk})
        if not payment_holds_of(order, payment):  # a retry declined again: the hold stays as it is
            _hold(order, reason, actor=actor, details={"payment": payment.pk, "decline_code": txn.decline_code})
        return
    payment.authorize(txn.amount)
    payment.authorization_reference = txn.gateway_reference or payment.token
    payment.authorization_expires_at = getattr(txn, "expires_at", None) or (
        timezone.now() + gateway_get(payment.gateway).authorization_ttl
    )
    payment.save()
    record(order, "payment_authorized", actor=actor, payload={"payment": payment.pk, "amount": str(txn.amount)})
    for hold in payment_holds_of(order, payment):  # a retry or a new token got it through
        hold_resolve(hold=hold, actor=actor, note="Increase authorized")
    already_captured = Payment.objects.filter(order=order, captured_amount__gt=0).exists()
    if already_captured and payment_settings_for(order.merchant_id).capture_timing == CaptureTiming.BEFORE_ALLOCATION:
        capture = executor.prepare(payment, Txn.Kind.CAPTURE, txn.amount, actor=actor)
        _run_after_commit([capture.pk], actor=actor, background=False)
