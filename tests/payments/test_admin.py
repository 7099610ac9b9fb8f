"""The admin: Finance's capture/void/refund buttons, a CSR's payment-hold resolution, the
order page's gateway calls and fraud breakdown, editable rate tables."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from oms.permissions import CSR, FINANCE
from orders.models import Payment
from orders.payments.models import Refund
from tests.factories import FraudSettingsFactory, UserFactory
from tests.payments.helpers import ledger, payment, place, reached_ready

pytestmark = pytest.mark.django_db
OTHER_COUNTRY = {
    "first_name": "Ana", "last_name": "Silva", "line1": "10 Downing Street", "city": "London",
    "postal_code": "SW1A 2AA", "country": "GB",
}  # fmt: skip


def user_in(group: str):
    user = UserFactory(username=f"{group.lower()}-payments")
    user.groups.add(Group.objects.get(name=group))
    return user


def page(client, paid: Payment) -> str:
    response = client.get(reverse("admin:orders_payment_change", args=[paid.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_finance_gets_the_money_buttons_and_a_csr_only_the_hold_ones(client, api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    paid = Payment.objects.get(order=order)
    client.force_login(user_in(FINANCE))
    finance = page(client, paid)
    assert reverse("admin:orders_payment_refund", args=[paid.pk]) in finance
    assert reverse("admin:orders_payment_void", args=[paid.pk]) in finance
    client.force_login(user_in(CSR))
    csr = page(client, paid)
    assert reverse("admin:orders_payment_refund", args=[paid.pk]) not in csr
    assert reverse("admin:orders_payment_new_token", args=[paid.pk]) in csr


def test_finance_refunds_from_the_admin_and_a_csr_cannot(client, api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    paid = Payment.objects.get(order=order)
    url = reverse("admin:orders_payment_refund", args=[paid.pk])
    client.force_login(user_in(CSR))
    client.post(url, {"amount": "5.00", "reason": "Goodwill"})
    assert Refund.objects.count() == 0
    client.force_login(user_in(FINANCE))
    assert client.get(url).status_code == 200
    response = client.post(url, {"amount": "5.00", "reason": "Goodwill"}, follow=True)
    assert "Refund of 5.00 USD: succeeded" in response.content.decode()
    assert Payment.objects.get(pk=paid.pk).refunded_amount == 5
    over = client.post(url, {"amount": "100.00", "reason": "Too much"}, follow=True)
    assert "exceeds what can be refunded" in over.content.decode()


def test_a_double_click_on_the_refund_form_refunds_once(client, api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    paid = Payment.objects.get(order=order)
    url = reverse("admin:orders_payment_refund", args=[paid.pk])
    client.force_login(user_in(FINANCE))
    token = re.search(r'name="form_token" value="([0-9a-f]+)"', client.get(url).content.decode()).group(1)
    for _ in range(2):
        client.post(url, {"amount": "5.00", "reason": "Goodwill", "form_token": token})
    assert Refund.objects.filter(order=order).count() == 1
    assert Payment.objects.get(pk=paid.pk).refunded_amount == 5


def test_a_csr_records_a_new_token_and_the_order_goes_on(client, api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("tok_decline"))
    paid = Payment.objects.get(order=order)
    client.force_login(user_in(CSR))
    url = reverse("admin:orders_payment_new_token", args=[paid.pk])
    refused = client.post(url, {"token": "4111111111111111"})
    assert refused.status_code == 200, "a card number is refused by the form"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"token": "tok_visa_ok_from_phone"})
    order.refresh_from_db()
    assert reached_ready(order)
    assert [e.token for e in ledger("capture")] == ["tok_visa_ok_from_phone"]


def test_the_order_page_shows_gateway_calls_and_the_fraud_breakdown(client, api, django_capture_on_commit_callbacks):
    FraudSettingsFactory(merchant=api.merchant, review_threshold=20)
    order, _ = place(api, django_capture_on_commit_callbacks, billing_address=OTHER_COUNTRY)
    client.force_login(user_in(CSR))
    html = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Fraud screening" in html
    assert "country mismatch" in html
    assert "Billing country GB differs from shipping country US." in html
    assert "Payments: gateway calls" in html


def test_finance_edits_the_rate_tables(client, api):
    client.force_login(user_in(FINANCE))
    response = client.post(
        reverse("admin:orders_taxrate_add"),
        {"merchant": api.merchant.pk, "name": "CA", "country": "US", "region": "CA", "postal_prefix": "",
         "tax_code": "", "rate": "0.0725", "shipping_taxable": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    assert client.get(reverse("admin:orders_taxrate_changelist")).status_code == 200
