"""Gateway calls as rows: prepare a pending PaymentTransaction (committed before the call),
call the gateway outside any lock, then record the outcome with a compare-and-set.

Why this shape: a job may run twice (a redelivery after a worker died, the sweeper racing the
job). Both runs find the same pending row and send the same idempotency key, so the gateway
moves the money once; only the run that flips the row from `pending` applies the amounts.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from orders.models import Order, Payment
from orders.payments.gateways import GatewayError, GatewayResult, gateway_get
from orders.payments.models import MerchantPaymentSettings, PaymentTransaction, Refund

logger = logging.getLogger(__name__)

Txn = PaymentTransaction
Outcome = PaymentTransaction.Outcome
# What to do once a call's outcome is recorded (in the recording transaction, locks held).
OutcomeHandler = Callable[[Txn, Payment, Order, Actor], None]
_handlers: dict[str, OutcomeHandler] = {}


def on_outcome(kind: str) -> Callable[[OutcomeHandler], OutcomeHandler]:
    def register(handler: OutcomeHandler) -> OutcomeHandler:
        _handlers[kind] = handler
        return handler

    return register


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def max_attempts(merchant_id: int) -> int:
    own = MerchantPaymentSettings.objects.filter(merchant_id=merchant_id).values_list("max_attempts", flat=True)
    return next(iter(own), None) or int(setting("PAYMENT_MAX_ATTEMPTS", 5))


def backoff(attempt: int) -> timedelta:
    """Exponential backoff with full jitter after `attempt` failed calls."""
    base = float(setting("PAYMENT_RETRY_BASE_SECONDS", 30))
    ceiling = float(setting("PAYMENT_RETRY_MAX_SECONDS", 3600))
    delay = min(base * 2 ** (attempt - 1), ceiling)
    return timedelta(seconds=delay * random.uniform(0.5, 1.0))  # noqa: S311 - jitter, not crypto


def sweep_grace() -> timedelta:
    # A pending row nobody executed within this time (its job was lost) is picked up by the sweeper.
    return timedelta(seconds=int(setting("PAYMENT_SWEEP_GRACE_SECONDS", 120)))


def prepare(
    payment: Payment,
    kind: str,
    amount: Decimal,
    *,
    actor: Actor,
    reference: str = "",
    refund: Refund | None = None,
    token: str | None = None,
) -> Txn:
    """Write a pending call (the caller holds the payment's row lock, inside its transaction)."""
    return Txn.objects.create(
        payment=payment,
        refund=refund,
        kind=kind,
        amount=amount,
        currency=payment.currency,
        token=token or payment.token,
        idempotency_key=f"oms-{kind}-{payment.pk}-{uuid.uuid4().hex}",
        reference=reference,
        next_attempt_at=timezone.now() + sweep_grace(),
        created_by=actor.label[:150],
    )


def channel_fact(payment: Payment, kind: str, amount: Decimal, *, actor: Actor) -> Txn:
    """An unsaved row for what the channel did before the order reached us (no gateway call)."""
    now = timezone.now()
    return Txn(
        payment=payment,
        kind=kind,
        source=Txn.Source.CHANNEL,
        amount=amount,
        currency=payment.currency,
        token=payment.token,
        idempotency_key=f"channel-{kind}-{payment.pk}",
        outcome=Outcome.SUCCEEDED,
        gateway_reference=payment.token,
        created_by=actor.label[:150],
        completed_at=now,
    )


def retry_of(txn: Txn, *, at: datetime, created_by: str | None = None) -> Txn:
    """The next attempt of a call that got no answer: the same idempotency key, because the
    first call may have gone through and the gateway must dedupe the retry."""
    return Txn.objects.create(
        payment_id=txn.payment_id,
        refund_id=txn.refund_id,
        kind=txn.kind,
        amount=txn.amount,
        currency=txn.currency,
        token=txn.token,
        idempotency_key=txn.idempotency_key,
        reference=txn.reference,
        attempt=txn.attempt + 1,
        next_attempt_at=at,
        created_by=created_by or txn.created_by,
    )


def _call(txn: Txn, payment: Payment) -> GatewayResult:
    gateway = gateway_get(payment.gateway)
    common = {
        "token": txn.token,
        "amount": txn.amount,
        "currency": txn.currency,
        "idempotency_key": txn.idempotency_key,
    }
    authorization = payment.authorization_reference or payment.token
    if txn.kind in (Txn.Kind.AUTHORIZE, Txn.Kind.REAUTHORIZE):
        return gateway.authorize(**common)
    if txn.kind == Txn.Kind.CAPTURE:
        return gateway.capture(authorization=authorization, **common)
    if txn.kind == Txn.Kind.VOID:
        return gateway.void(authorization=authorization, **common)
    charge = payment.transactions.filter(kind=Txn.Kind.CAPTURE, outcome=Outcome.SUCCEEDED).order_by("id").last()
    return gateway.refund(charge=charge.gateway_reference if charge else payment.token, **common)


def execute(txn_id: int, *, actor: Actor) -> Txn:
    """Send a pending call to its gateway and record the outcome; return the row.

    Call it outside a transaction: the gateway is another system, and no lock is held while it
    answers. Safe to run concurrently with itself for the same row.
    """
    txn = Txn.objects.select_related("payment").get(pk=txn_id)
    if txn.outcome != Outcome.PENDING:
        return txn
    started = time.monotonic()
    error: GatewayError | None = None
    result: GatewayResult | None = None
    try:
        result = _call(txn, txn.payment)
    except GatewayError as exc:
        error = exc
    except Exception as exc:  # an adapter bug or a transport error: the outcome is unknown
        logger.exception("payment gateway %s failed on transaction %s", txn.payment.gateway, txn.pk)
        error = GatewayError(f"{type(exc).__name__}", code="gateway_error")
    duration = int((time.monotonic() - started) * 1000)
    return _record(txn.pk, result, error, duration, actor)


@transaction.atomic
def _record(txn_id: int, result: GatewayResult | None, error: GatewayError | None, duration: int, actor: Actor) -> Txn:
    from orders.services.holds import order_lock

    head = Txn.objects.select_related("payment").get(pk=txn_id)
    # Locks in the fixed order every payment service uses: order, then payment, then the row.
    order = order_lock(head.payment.order)
    payment = Payment.objects.select_for_update().get(pk=head.payment_id)
    txn = Txn.objects.select_for_update().get(pk=txn_id)
    if txn.outcome != Outcome.PENDING:
        return txn  # another run of this call recorded it first
    now = timezone.now()
    txn.duration_ms = duration
    txn.completed_at = now
    txn.next_attempt_at = None
    if error is not None:
        txn.outcome = Outcome.ERROR
        txn.decline_code = error.code[:60]
        txn.message = str(error)[:500]
        txn.save()
        if txn.attempt < max_attempts(order.merchant_id):
            retry_of(txn, at=now + backoff(txn.attempt))
            return txn
    else:
        assert result is not None
        txn.outcome = Outcome.SUCCEEDED if result.approved else Outcome.DECLINED
        txn.gateway_reference = result.reference[:255]
        txn.decline_code = result.decline_code[:60]
        txn.message = result.message[:500]
        txn.save()
        txn.expires_at = result.expires_at  # type: ignore[attr-defined]  # for the handler
    _handlers[txn.kind](txn, payment, order, actor)
    return txn


def execute_many(txn_ids: Iterable[int], *, actor: Actor) -> list[Txn]:
    return [execute(pk, actor=actor) for pk in txn_ids]


def due(now: datetime, *, batch: int = 200) -> list[int]:
    """Pending calls whose retry time has come, or whose job was lost."""
    return list(
        Txn.objects.filter(outcome=Outcome.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
