"""Gateway timeouts: retried with the same idempotency key, backoff kept in the database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Payment
from orders.payments.models import PaymentTransaction
from orders.payments.services import payments_retry_due
from tests.payments.helpers import events, ledger, payment, place, reached_ready

pytestmark = pytest.mark.django_db


def later(hours: int = 2):
    return timezone.now() + timedelta(hours=hours)


def test_a_timeout_is_retried_later_with_the_same_key_and_then_succeeds(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_timeout_once"))
    assert order.status == "validated", "still waiting for the retry"
    first, retry = PaymentTransaction.objects.filter(kind="capture").order_by("pk")
    assert (first.outcome, first.decline_code, retry.outcome) == ("error", "timeout", "pending")
    assert retry.idempotency_key == first.idempotency_key
    assert retry.next_attempt_at > timezone.now(), "backoff: not before its time"
    assert payments_retry_due() == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert payments_retry_due(now=later()) == 1
    order.refresh_from_db()
    assert reached_ready(order)
    assert len(ledger("capture")) == 1


def test_backoff_grows_between_attempts(settings):
    from orders.payments.executor import backoff

    settings.PAYMENT_RETRY_BASE_SECONDS = 10
    settings.PAYMENT_RETRY_MAX_SECONDS = 10_000
    for attempt in range(1, 6):
        delay = backoff(attempt).total_seconds()
        assert 10 * 2 ** (attempt - 1) * 0.5 <= delay <= 10 * 2 ** (attempt - 1)


def test_it_holds_the_order_after_the_last_attempt_times_out(api, django_capture_on_commit_callbacks, settings):
    settings.PAYMENT_MAX_ATTEMPTS = 3
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_timeout"))
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            payments_retry_due(now=later(24))
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert "did not answer the capture after 3 attempts" in order.holds.get().reason
    outcomes = list(PaymentTransaction.objects.filter(kind="capture").values_list("attempt", "outcome"))
    assert outcomes == [(1, "error"), (2, "error"), (3, "error")]
    assert Payment.objects.get(order=order).status == "authorized", "the authorization itself still stands"
    assert "payment.failed" in events(order)


def test_a_csr_retry_after_the_attempts_ran_out_reuses_the_unanswered_key(
    api, django_capture_on_commit_callbacks, settings
):
    """The last capture got no answer (it may have charged): the CSR's retry must not risk a
    second charge, so it carries the same idempotency key."""
    from oms.actors import Actor
    from orders.payments.services import payment_retry

    settings.PAYMENT_MAX_ATTEMPTS = 1
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_timeout_once"))
    assert order.status in ("on_hold",)
    [first] = PaymentTransaction.objects.filter(kind="capture")
    with django_capture_on_commit_callbacks(execute=True):
        payment_retry(payment=Payment.objects.get(order=order), actor=Actor("user", "csr", None))
    retry = PaymentTransaction.objects.filter(kind="capture").latest("pk")
    assert (retry.idempotency_key, retry.attempt, retry.outcome) == (first.idempotency_key, 2, "succeeded")
    order.refresh_from_db()
    assert reached_ready(order)
    assert len(ledger("capture")) == 1
