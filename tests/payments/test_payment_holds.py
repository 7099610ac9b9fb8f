"""A declined capture holds the order for a CSR, who retries, records a new token, or cancels."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.actors import Actor
from oms.models import OpsException
from orders.models import Hold, Payment
from orders.payments.services import payment_retry
from orders.services.holds import hold_resolve
from tests.payments.helpers import events, ledger, payment, place, reached_ready

pytestmark = pytest.mark.django_db
CSR = Actor("user", "csr-ana", None)


@pytest.mark.parametrize(
    ("token", "code", "status"),
    [
        ("tok_decline", "card_declined", "failed"),
        ("tok_insufficient_funds", "insufficient_funds", "failed"),
        ("tok_expired_auth", "authorization_expired", "expired"),
    ],
)
def test_it_holds_the_order_with_the_gateways_reason_when_capture_is_declined(
    api, django_capture_on_commit_callbacks, token, code, status
):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment(token))
    assert order.status == "on_hold"
    [hold] = order.holds.all()
    assert hold.type == Hold.Type.PAYMENT
    assert code in hold.reason
    assert Payment.objects.get(order=order).status == status
    assert "payment.failed" in events(order)
    assert OpsException.objects.filter(type="payment_hold", status="open").count() == 1
    assert ledger("capture") == []


def test_a_new_token_from_the_merchant_retries_the_capture_and_the_order_goes_on_to_ready(
    api, django_capture_on_commit_callbacks
):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_decline"))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post(
            f"/api/v1/orders/{order.number}/payments/", {"token": "tok_visa_ok_new_card"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert (response.json()["status"], response.json()["captured_amount"]) == ("captured", "48.38")
    order.refresh_from_db()
    assert reached_ready(order)
    assert not order.holds.filter(resolved_at__isnull=True).exists()
    assert [e.token for e in ledger("capture")] == ["tok_visa_ok_new_card"]
    assert OpsException.objects.get(type="payment_hold").status == "resolved"
    detail = api.client.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["payments"][0]["status"] == "captured"


def test_a_csr_retry_that_is_declined_again_keeps_the_order_on_hold(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_insufficient_funds"))
    with django_capture_on_commit_callbacks(execute=True):
        payment_retry(payment=Payment.objects.get(order=order), actor=CSR)
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.holds.filter(type="payment", resolved_at__isnull=True).exists()
    assert Payment.objects.get(order=order).status == "failed"


def test_a_csr_recording_a_new_token_moves_the_order_to_ready(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_expired_auth"))
    with django_capture_on_commit_callbacks(execute=True):
        payment_retry(payment=Payment.objects.get(order=order), actor=CSR, token="tok_visa_ok_reauthorized")
    order.refresh_from_db()
    assert reached_ready(order)
    assert Payment.objects.get(order=order).captured_amount == Decimal("48.38")
    assert order.events.filter(name="payment_token_replaced", actor_label="csr-ana").exists()


def test_a_new_token_is_refused_when_no_payment_waits_for_one(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment(kind="capture"))
    response = api.client.post(f"/api/v1/orders/{order.number}/payments/", {"token": "tok_visa_ok"}, format="json")
    assert response.status_code == 409


def test_resolving_another_hold_lets_the_job_capture_and_move_on(api, django_capture_on_commit_callbacks):
    """An address hold stops the payment job; resolving it resumes the flow through to ready."""
    address = {
        "first_name": "Ana", "last_name": "Silva", "line1": "PO Box 12", "city": "San Francisco",
        "region": "CA", "postal_code": "94105", "country": "US",
    }  # fmt: skip
    order, _ = place(
        api,
        django_capture_on_commit_callbacks,
        shipping_address=address,
        shipping={"service_level": "express", "price": "5.00", "tax": "0.00"},
    )
    assert order.status == "on_hold"
    assert ledger("capture") == [], "nothing is captured while the order is held"
    with django_capture_on_commit_callbacks(execute=True):
        hold_resolve(hold=order.holds.get(), actor=CSR, note="Customer confirmed the box takes couriers")
    order.refresh_from_db()
    assert reached_ready(order)
    assert len(ledger("capture")) == 1
