"""An increase whose authorization is declined holds the order; a CSR fixes it from the hold:
a new token or a retry authorizes the difference, or the added lines are cancelled. Lines added
while the order is held are routed once the hold is resolved."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.actors import Actor
from oms.errors import Conflict
from oms.models import OpsException
from orders.models import Hold, Order, OrderLine, Payment
from orders.payments.services import payment_retry
from orders.services.amend_lines import order_increase_withdraw, order_lines_amend
from orders.services.holds import hold_place, hold_release
from tests.payments.helpers import ledger, payment, place

pytestmark = pytest.mark.django_db
CSR = Actor("user", "csr-ana", None)
BLUE = {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": Decimal("19.99")}


def allocated(order: Order) -> dict[str, int]:
    return {line.sku: line.qty_allocated for line in OrderLine.objects.filter(order=order)}


def declined_increase(api, hooks) -> tuple[Order, Payment]:
    """An allocated order whose card (the channel took the first payment) now lacks the funds:
    adding a blue T-shirt puts it on a payment hold."""
    order, _ = place(api, hooks, payment=payment("tok_insufficient_funds", kind="capture"))
    assert (order.status, allocated(order)) == ("allocated", {"TSHIRT-RED-M": 2})
    with hooks(execute=True):
        order_lines_amend(order=order, changes=[BLUE], actor=CSR, reason="Customer adds a blue one")
    order.refresh_from_db()
    increase = Payment.objects.filter(order=order).latest("pk")
    assert (order.status, increase.status, increase.amount) == ("on_hold", "failed", Decimal("19.99"))
    [hold] = order.holds.filter(resolved_at__isnull=True)
    assert hold.type == Hold.Type.PAYMENT
    assert "insufficient_funds" in hold.reason
    assert OpsException.objects.filter(type="payment_hold", status="open").count() == 1
    return order, increase


def test_a_new_token_authorizes_the_difference_lifts_the_hold_and_routes_the_added_line(
    stocked, django_capture_on_commit_callbacks
):
    order, increase = declined_increase(stocked, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        txn = payment_retry(payment=increase, actor=CSR, token="tok_visa_ok_second_card")
    assert (txn.kind, txn.outcome) == ("authorize", "succeeded")
    order.refresh_from_db()
    increase.refresh_from_db()
    assert increase.authorized_amount == Decimal("19.99")
    assert increase.token == "tok_visa_ok_second_card"
    assert not order.holds.filter(resolved_at__isnull=True).exists()
    assert OpsException.objects.get(type="payment_hold").status == "resolved"
    assert order.status == "allocated"
    assert allocated(order) == {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 1}
    # The first payment was captured: the difference is captured at once too, on the new card.
    assert [(e.token, e.amount) for e in ledger("capture")] == [("tok_visa_ok_second_card", Decimal("19.99"))]


def test_a_retry_declined_again_keeps_one_hold_and_a_retry_that_passes_lifts_it(
    stocked, django_capture_on_commit_callbacks
):
    order, increase = declined_increase(stocked, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        again = payment_retry(payment=increase, actor=CSR)
    assert (again.kind, again.outcome, again.token) == ("authorize", "declined", "tok_insufficient_funds")
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.holds.filter(resolved_at__isnull=True).count() == 1
    # The customer's bank lifts the block: the same card now authorizes (the sandbox decides by
    # token, so the card on the payment is swapped underneath, as the bank's answer changed).
    Payment.objects.filter(pk=increase.pk).update(token="tok_visa_ok_after_the_bank_called")
    with django_capture_on_commit_callbacks(execute=True):
        passed = payment_retry(payment=Payment.objects.get(pk=increase.pk), actor=CSR)
    assert (passed.kind, passed.outcome) == ("authorize", "succeeded")
    order.refresh_from_db()
    assert order.status == "allocated"
    assert allocated(order) == {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 1}


def test_cancelling_the_added_lines_lifts_the_hold_and_the_order_goes_on_as_before(
    stocked, django_capture_on_commit_callbacks
):
    order, increase = declined_increase(stocked, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        order_increase_withdraw(payment=increase, actor=CSR, reason="Customer keeps the order as it was")
    order.refresh_from_db()
    increase.refresh_from_db()
    assert increase.status == "voided"
    assert order.status == "allocated"
    blue = order.lines.get(sku="TSHIRT-BLUE-M")
    assert (blue.quantity, blue.qty_cancelled, blue.qty_allocated) == (1, 1, 0)
    assert not order.holds.filter(resolved_at__isnull=True).exists()
    assert not order.refunds.exists(), "nothing was collected for the added line: nothing to refund"
    assert order.events.filter(name="increase_withdrawn", actor_label="csr-ana").exists()
    with pytest.raises(Conflict):
        payment_retry(payment=increase, actor=CSR)
    with pytest.raises(Conflict):
        order_increase_withdraw(payment=increase, actor=CSR)


def test_a_line_added_while_the_order_is_held_is_routed_when_the_hold_is_resolved(
    stocked, django_capture_on_commit_callbacks
):
    order, _ = place(stocked, django_capture_on_commit_callbacks, payment=payment())
    assert order.status == "allocated"
    with django_capture_on_commit_callbacks(execute=True):
        hold = hold_place(order=order, type=Hold.Type.MANUAL, reason="Customer asked us to wait", actor=CSR)
        order_lines_amend(order=order, changes=[BLUE], actor=CSR)
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert allocated(order) == {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 0}, "nothing is routed while held"
    assert Payment.objects.filter(order=order).latest("pk").status == "captured"

    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold=hold, actor=CSR, note="Customer called back")
    order.refresh_from_db()
    assert order.status == "allocated"
    assert allocated(order) == {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 1}


def test_the_merchant_sends_a_new_token_through_the_api_for_the_declined_increase(
    stocked, django_capture_on_commit_callbacks
):
    order, increase = declined_increase(stocked, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        response = stocked.client.post(
            f"/api/v1/orders/{order.number}/payments/", {"token": "tok_visa_ok_from_the_shop"}, format="json"
        )
    assert response.status_code == 200, response.json()
    assert (response.json()["id"], response.json()["authorized_amount"]) == (increase.pk, "19.99")
    order.refresh_from_db()
    assert order.status == "allocated"
    assert allocated(order) == {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 1}
