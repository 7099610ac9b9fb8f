"""Fraud screening right after validation: each rule scores with its reason; review holds the
order for a CSR before any capture, reject cancels it and gives the money back."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from oms.actors import Actor
from orders.fraud.models import FraudDecision
from orders.models import Order, Payment
from orders.services.holds import hold_resolve
from tests.factories import DenyListEntryFactory, FraudSettingsFactory
from tests.payments.helpers import ledger, payment, place, reached_ready

pytestmark = pytest.mark.django_db
OTHER_COUNTRY = {
    "first_name": "Ana", "last_name": "Silva", "line1": "10 Downing Street", "city": "London",
    "postal_code": "SW1A 2AA", "country": "GB",
}  # fmt: skip


def fired(order) -> dict[str, int]:
    return {hit["rule"]: hit["score"] for hit in FraudDecision.objects.get(order=order).rules}


def test_a_clean_order_is_approved_with_no_rule_firing(api, django_capture_on_commit_callbacks):
    order, response = place(api, django_capture_on_commit_callbacks)
    assert response["fraud"] == {
        **response["fraud"], "score": 0, "outcome": "approve", "rules": [],
    }  # fmt: skip
    assert reached_ready(order)


def test_it_scores_a_first_order_above_the_value_threshold(api, django_capture_on_commit_callbacks):
    FraudSettingsFactory(merchant=api.merchant, first_order_value=Decimal("40.00"))
    first, _ = place(api, django_capture_on_commit_callbacks)
    second, _ = place(api, django_capture_on_commit_callbacks)
    assert fired(first) == {"first_order_value": 30}
    assert fired(second) == {}, "the customer has ordered before"


def _same(i: int, same: str) -> dict:
    """The i-th order of a series sharing only `same` (e-mail and street in varying case)."""
    changes = {
        "customer": {"email": f"shopper{i}@example.com"},
        "payment": payment(f"tok_visa_ok_{i}"),
        "shipping_address": {**OTHER_COUNTRY, "country": "US", "region": "CA", "city": "San Francisco",
                             "postal_code": "94105", "line1": f"{i + 1} Market St"},
        "billing_address": None,
    }  # fmt: skip
    if same == "email":
        changes["customer"] = {"email": "same@example.com" if i % 2 else "Same@Example.com"}
    elif same == "token":
        changes["payment"] = payment("tok_visa_ok_shared")
    else:
        changes["shipping_address"]["line1"] = "1 Market St" if i % 2 else "1 MARKET ST"
    return changes


@pytest.mark.parametrize("same", ["email", "token", "address"])
def test_it_scores_velocity_from_one_email_token_or_address(api, django_capture_on_commit_callbacks, same):
    FraudSettingsFactory(merchant=api.merchant, velocity_orders=3, velocity_minutes=30)
    orders = [place(api, django_capture_on_commit_callbacks, **_same(i, same))[0] for i in range(3)]
    assert [("velocity" in fired(o)) for o in orders] == [False, False, True]
    reason = FraudDecision.objects.get(order=orders[-1]).rules[0]["reason"]
    assert "3 orders from one" in reason
    assert "within 30 minutes" in reason


@pytest.mark.parametrize("same", ["email", "token", "address"])
def test_velocity_counts_neither_orders_before_the_window_nor_another_merchants(
    api, other_api, django_capture_on_commit_callbacks, same
):
    FraudSettingsFactory(merchant=api.merchant, velocity_orders=3, velocity_minutes=30)
    old = [place(api, django_capture_on_commit_callbacks, **_same(i, same))[0] for i in range(2)]
    before = timezone.now() - timedelta(minutes=31)
    Order.objects.filter(pk__in=[o.pk for o in old]).update(created_at=before)
    Payment.objects.filter(order__in=old).update(created_at=before)
    place(other_api, django_capture_on_commit_callbacks, **_same(2, same))
    latest, _ = place(api, django_capture_on_commit_callbacks, **_same(3, same))
    assert "velocity" not in fired(latest)


def test_it_scores_billing_and_shipping_countries_that_differ(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, billing_address=OTHER_COUNTRY)
    assert fired(order) == {"country_mismatch": 25}


def test_it_scores_a_disposable_email_domain(api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, customer={"email": "x@mailinator.com"})
    assert fired(order) == {"disposable_email": 30}


@pytest.mark.parametrize(
    ("kind", "value"),
    [("email", "ANA@example.com "), ("address", "1  market st"), ("postal_code", "94 105")],
)
def test_a_deny_list_match_rejects_the_order_and_voids_its_authorization(
    api, django_capture_on_commit_callbacks, kind, value
):
    DenyListEntryFactory(merchant=api.merchant, kind=kind, value=value)
    order, response = place(api, django_capture_on_commit_callbacks)
    assert fired(order) == {"deny_list": 100}
    assert response["status"] == "cancelled"
    assert Payment.objects.get(order=order).status == "voided"
    assert ledger("capture") == []
    assert len(ledger("void")) == 1


def test_a_rejected_capture_order_has_its_charge_refunded(api, django_capture_on_commit_callbacks):
    DenyListEntryFactory(merchant=api.merchant, kind="email", value="ana@example.com")
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_visa_ok_c", kind="capture"))
    assert order.status == "cancelled"
    assert Payment.objects.get(order=order).status == "refunded"
    assert [e.amount for e in ledger("refund")] == [Decimal("48.38")]


def test_a_review_score_holds_the_order_before_capture_until_a_csr_clears_it(api, django_capture_on_commit_callbacks):
    FraudSettingsFactory(merchant=api.merchant, review_threshold=20)
    order, response = place(api, django_capture_on_commit_callbacks, billing_address=OTHER_COUNTRY)
    assert response["status"] == "on_hold"
    hold = order.holds.get()
    assert hold.type == "fraud"
    assert "Billing country GB differs" in hold.reason
    assert hold.details["rules"][0]["rule"] == "country_mismatch"
    assert ledger("capture") == [], "no money moves while the order is under review"
    with django_capture_on_commit_callbacks(execute=True):
        hold_resolve(hold=hold, actor=Actor("user", "csr-bo", None), note="Called the customer: genuine")
    order.refresh_from_db()
    assert reached_ready(order)
    assert len(ledger("capture")) == 1


def test_thresholds_are_per_merchant(api, other_api, django_capture_on_commit_callbacks):
    FraudSettingsFactory(merchant=api.merchant, review_threshold=20)
    held, _ = place(api, django_capture_on_commit_callbacks, billing_address=OTHER_COUNTRY)
    free, _ = place(other_api, django_capture_on_commit_callbacks, billing_address=OTHER_COUNTRY)
    assert (held.status, reached_ready(free)) == ("on_hold", True)
