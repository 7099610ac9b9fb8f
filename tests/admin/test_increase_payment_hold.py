"""A CSR works an amendment's declined increase from the order page's payment-hold banner:
retry the authorization, record a new token, or cancel the added lines."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from oms.permissions import CSR
from orders.models import Payment
from tests.admin.test_console import user_in
from tests.orders.test_amend_increase_hold import allocated, declined_increase

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(stocked, client, django_capture_on_commit_callbacks):
    order, increase = declined_increase(stocked, django_capture_on_commit_callbacks)
    client.force_login(user_in(CSR))
    return order, increase


def banner_forms(client, order) -> str:
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    start = page.index('data-hold="payment"')
    return page[start : page.index("</div>", start)]


def post(client, name: str, payment: Payment, hooks, **data):
    page = reverse("admin:orders_order_change", args=[payment.order_id])
    with hooks(execute=True):
        response = client.post(reverse(f"admin:orders_payment_{name}", args=[payment.pk]), {"next": page, **data})
    assert response.status_code == 302
    assert response.url == page
    return client.get(page)


def test_the_banner_says_what_was_declined_and_offers_the_three_fixes(client, held):
    order, increase = held
    banner = banner_forms(client, order)
    assert "Authorization of the increase (19.99 USD) declined by sandbox: insufficient_funds" in banner
    assert "Retry the authorization" in banner
    assert "Record a new token" in banner
    assert reverse("admin:orders_payment_withdraw_increase", args=[increase.pk]) in banner


def test_retrying_a_declined_increase_from_the_banner_says_so_and_keeps_the_hold(
    client, held, django_capture_on_commit_callbacks
):
    order, increase = held
    page = post(client, "retry", increase, django_capture_on_commit_callbacks)
    assert "Retried the authorize: declined" in page.content.decode()
    order.refresh_from_db()
    assert order.status == "on_hold"


def test_a_new_token_from_the_banner_authorizes_the_difference_and_routes_the_line(
    client, held, django_capture_on_commit_callbacks
):
    order, increase = held
    page = post(client, "new_token", increase, django_capture_on_commit_callbacks, token="tok_visa_ok_second_card")
    assert "New token; authorize: succeeded" in page.content.decode()
    assert 'data-hold="payment"' not in page.content.decode()
    order.refresh_from_db()
    assert (order.status, allocated(order)) == ("allocated", {"TSHIRT-RED-M": 2, "TSHIRT-BLUE-M": 1})
    assert Payment.objects.get(pk=increase.pk).captured_amount == Decimal("19.99")


def test_cancelling_the_added_lines_from_the_banner_lifts_the_hold(client, held, django_capture_on_commit_callbacks):
    order, increase = held
    page = post(client, "withdraw_increase", increase, django_capture_on_commit_callbacks, reason="Keeps the order")
    html = page.content.decode()
    assert "Increase of 19.99 USD withdrawn" in html
    assert 'data-hold="payment"' not in html
    order.refresh_from_db()
    assert order.status == "allocated"
    assert order.lines.get(sku="TSHIRT-BLUE-M").qty_cancelled == 1
    assert Payment.objects.get(pk=increase.pk).status == "voided"
