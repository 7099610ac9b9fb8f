"""Cancellation voids what is only authorized and refunds what was captured; refunds never
exceed what was captured."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Payment
from orders.payments.models import Refund
from tests.factories import MerchantPaymentSettingsFactory
from tests.payments.helpers import events, ledger, payment, place

pytestmark = pytest.mark.django_db


def cancel(api, hooks, order, **extra):
    with hooks(execute=True):
        response = api.client.post(
            f"/api/v1/orders/{order.number}/cancel/", {"reason": "Customer changed their mind", **extra}, format="json"
        )
    assert response.status_code == 200, response.json()
    return response.json()


def test_cancelling_an_order_captured_by_the_job_refunds_it(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    cancel(api, django_capture_on_commit_callbacks, order)
    paid = Payment.objects.get(order=order)
    assert (paid.status, paid.refunded_amount) == ("refunded", Decimal("48.38"))
    [entry] = ledger("refund")
    assert entry.amount == Decimal("48.38")
    assert "refund.issued" in events(order)


def test_cancelling_a_capture_order_refunds_the_channels_charge(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_visa_ok_charge", kind="capture"))
    cancel(api, django_capture_on_commit_callbacks, order)
    assert Payment.objects.get(order=order).status == "refunded"
    assert [e.token for e in ledger("refund")] == ["tok_visa_ok_charge"]


def test_cancelling_an_order_that_is_only_authorized_voids_it(api, django_capture_on_commit_callbacks):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    order, _ = place(api, django_capture_on_commit_callbacks)
    cancel(api, django_capture_on_commit_callbacks, order)
    paid = Payment.objects.get(order=order)
    assert (paid.status, paid.voided_amount, paid.captured_amount) == ("voided", Decimal("48.38"), Decimal(0))
    assert len(ledger("void")) == 1
    assert ledger("refund") == []


def test_a_partial_cancellation_refunds_the_value_of_the_cancelled_units(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    line = order.lines.get()
    cancel(api, django_capture_on_commit_callbacks, order, lines=[{"line": line.pk, "quantity": 1}])
    # One of two units: (2 × 19.99 + 3.40 tax) / 2 = 21.69
    paid = Payment.objects.get(order=order)
    assert (paid.status, paid.refunded_amount) == ("partially_refunded", Decimal("21.69"))


def preview(api, order, **body):
    response = api.client.post(f"/api/v1/orders/{order.number}/cancel/preview/", body, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


@pytest.mark.parametrize("timing", ["before_allocation", "at_release"])
def test_the_preview_says_what_the_cancellation_then_does(api, django_capture_on_commit_callbacks, timing):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing=timing)
    order, _ = place(api, django_capture_on_commit_callbacks)
    line = order.lines.get()
    one = preview(api, order, lines=[{"line": line.pk, "quantity": 1}])
    whole = preview(api, order)
    assert Refund.objects.count() == 0  # a preview changes nothing
    captured = timing == "before_allocation"
    assert one == {"currency": "USD", "value": "21.69", "refund": "21.69" if captured else "0.00", "void": "0.00",
                   "whole": False}  # fmt: skip
    assert (whole["refund"], whole["void"], whole["whole"]) == (
        ("48.38", "0.00", True) if captured else ("0.00", "48.38", True)
    )
    cancel(api, django_capture_on_commit_callbacks, order, lines=[{"line": line.pk, "quantity": 1}])
    assert sum((r.amount for r in Refund.objects.filter(order=order)), Decimal(0)) == Decimal(one["refund"])
    too_many = api.client.post(f"/api/v1/orders/{order.number}/cancel/preview/",
                               {"lines": [{"line": line.pk, "quantity": 5}]}, format="json")  # fmt: skip
    assert too_many.status_code == 409


def test_a_partial_cancellation_before_capture_captures_less(api, django_capture_on_commit_callbacks):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    order, _ = place(api, django_capture_on_commit_callbacks)
    line = order.lines.get()
    cancel(api, django_capture_on_commit_callbacks, order, lines=[{"line": line.pk, "quantity": 1}])
    assert ledger("refund") == []
    assert ledger("void") == []
    from orders.payments.services import order_amount_due

    assert order_amount_due(order) == Decimal("26.69")  # 48.38 - 21.69


def test_it_refunds_through_the_api_and_shows_the_refund_on_the_order(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    line = order.lines.get()
    response = api.client.post(
        f"/api/v1/orders/{order.number}/refunds/",
        {"amount": "21.69", "reason": "One shirt arrived torn", "lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
    )
    assert response.status_code == 201, response.json()
    refund = response.json()
    assert (refund["amount"], refund["tax_amount"], refund["status"]) == ("21.69", "1.70", "succeeded")
    detail = api.client.get(f"/api/v1/orders/{order.number}/").json()
    assert detail["payments"][0]["refunded_amount"] == "21.69"
    assert detail["payments"][0]["status"] == "partially_refunded"
    assert detail["refunds"][0]["id"] == refund["id"]
    assert "refund.issued" in events(order)


def test_an_over_refund_is_refused_with_409(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    url = f"/api/v1/orders/{order.number}/refunds/"
    assert api.client.post(url, {"amount": "40.00", "reason": "Late"}, format="json").status_code == 201
    response = api.client.post(url, {"amount": "8.39", "reason": "Late again"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "over_refund"
    assert api.client.post(url, {"amount": "8.38", "reason": "The rest"}, format="json").status_code == 201
    assert Payment.objects.get(order=order).status == "refunded"
    assert Refund.objects.filter(order=order).count() == 2


def test_nothing_can_be_refunded_before_capture(api, django_capture_on_commit_callbacks):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    order, _ = place(api, django_capture_on_commit_callbacks)
    response = api.client.post(
        f"/api/v1/orders/{order.number}/refunds/", {"amount": "1.00", "reason": "Goodwill"}, format="json"
    )
    assert response.status_code == 409


def test_a_refund_of_another_merchants_order_is_not_found(api, other_api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    response = other_api.client.post(
        f"/api/v1/orders/{order.number}/refunds/", {"amount": "1.00", "reason": "Sneaky"}, format="json"
    )
    assert response.status_code == 404
    assert Refund.objects.count() == 0
