"""A CSR works orders from the order workspace in a real browser (1440 px wide)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from oms.permissions import CSR
from orders.models import Hold, Order, Payment, Refund
from tests.browser.conftest import assert_money_at_precision, assert_no_horizontal_scroll, screenshot
from tests.factories import UserFactory
from tests.payments.helpers import body, payment

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def capture(api, **changes) -> Order:
    response = api.client.post("/api/v1/orders/", body(**changes), format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


def back_on_the_order_page(page, order: Order) -> None:
    page.wait_for_url(f"**/admin/orders/order/{order.pk}/change/")


def open_as_csr(page, login, order: Order) -> None:
    user = UserFactory(username="csr-ana")
    user.groups.add(Group.objects.get(name=CSR))
    login(user)
    page.goto(f"/admin/orders/order/{order.pk}/change/")


TWO_LINES = {
    "lines": [
        {"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.99", "discount": "0.00", "tax": "3.40"},
        {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "19.99", "discount": "0.00", "tax": "1.70"},
    ],
    "payment": payment(amount="70.07"),
    "total": "70.07",
}


def test_a_csr_resolves_an_address_hold_by_amending(page, login, api):
    address = {**body()["shipping_address"], "line1": "PO Box 42"}
    order = capture(api, shipping_address=address, shipping={"service_level": "express", "price": "5.00", "tax": "0"})
    assert order.status == "on_hold"
    open_as_csr(page, login, order)
    banner = page.locator(".ws-banner[data-hold=address]")
    assert "PO box" in banner.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "order-workspace/address-hold-amended/1-banner")

    banner.get_by_role("link", name="Fix the address (amend)…").click()
    page.locator("#id_line1").fill("1 Market St")
    page.get_by_role("button", name="Save amendment").click()

    back_on_the_order_page(page, order)
    expect(page.locator("#order-status")).not_to_have_text("on_hold")
    expect(page.locator(".ws-banner[data-hold=address]")).to_have_count(0)
    assert "PO Box 42, Apt 5" in page.locator("#timeline").inner_text()  # before -> after
    assert_no_horizontal_scroll(page)
    assert_money_at_precision(page)
    screenshot(page, "order-workspace/address-hold-amended/2-resolved")
    assert not Hold.objects.filter(order=order, resolved_at__isnull=True).exists()


def test_a_csr_cancels_one_line_and_sees_the_refund_first(page, login, api):
    order = capture(api, **TWO_LINES)
    captured = sum(p.captured_amount for p in order.payments.all())
    assert captured == Decimal("70.07"), "captured before allocation (the merchant's default)"
    blue = order.lines.get(sku="TSHIRT-BLUE-M")
    open_as_csr(page, login, order)
    page.get_by_role("link", name="Cancel lines…").click()
    page.locator(f"input[name=line_{blue.pk}]").fill("1")
    page.get_by_label("Reason").fill("Customer no longer wants the blue one")
    page.get_by_role("button", name="Preview the refund").click()

    expect(page.locator("#cancel-preview")).to_be_visible()
    preview = page.locator("#cancel-preview").inner_text()
    assert "21.69 USD" in preview  # 19.99 + 1.70 tax, at the currency's precision
    assert blue.qty_cancelled == Order.objects.get(pk=order.pk).lines.get(sku="TSHIRT-BLUE-M").qty_cancelled == 0
    screenshot(page, "order-workspace/cancel-one-line/1-refund-preview")
    page.get_by_role("button", name="Confirm the cancellation").click()

    back_on_the_order_page(page, order)
    assert Order.objects.get(pk=order.pk).lines.get(sku="TSHIRT-BLUE-M").qty_cancelled == 1
    assert [r.amount for r in Refund.objects.filter(order=order)] == [Decimal("21.69")]
    assert "TSHIRT-BLUE-M × 1" in page.locator("#timeline").inner_text()
    assert_no_horizontal_scroll(page)
    assert_money_at_precision(page)
    screenshot(page, "order-workspace/cancel-one-line/2-cancelled")


def test_a_csr_adds_a_line_before_release_and_the_difference_is_authorized(page, login, api):
    order = capture(api)
    open_as_csr(page, login, order)
    page.get_by_role("link", name="Change lines…").click()
    page.get_by_label("Add SKU").fill("TSHIRT-BLUE-M")
    page.get_by_label("Add quantity").fill("1")
    page.get_by_label("Add unit price").fill("19.99")
    page.get_by_label("Reason").fill("Customer called to add a blue one")
    page.get_by_role("button", name="Save the lines").click()

    back_on_the_order_page(page, order)
    lines = page.locator("#order-lines").inner_text()
    assert "TSHIRT-BLUE-M" in lines
    increase = Payment.objects.filter(order=order).order_by("pk").last()
    assert (increase.status in ("authorized", "captured"), increase.authorized_amount) == (True, Decimal("19.990"))
    assert Order.objects.get(pk=order.pk).total == Decimal("48.38") + Decimal("19.99")
    assert "payment authorized" in page.locator("#timeline").inner_text()
    assert "68.37 USD" in page.locator(".ws-head").inner_text()
    assert_no_horizontal_scroll(page)
    assert_money_at_precision(page)
    screenshot(page, "order-workspace/add-line-authorized/1-added")


def test_a_csr_fixes_a_payment_hold_from_the_order_page(page, login, api):
    order = capture(api, payment=payment("tok_decline"))
    assert order.status == "on_hold"
    open_as_csr(page, login, order)
    banner = page.locator(".ws-banner[data-hold=payment]")
    assert "card_declined" in banner.inner_text()
    assert_no_horizontal_scroll(page)
    screenshot(page, "order-workspace/payment-hold-new-token/1-banner")
    banner.get_by_placeholder("gateway token from the customer").fill("tok_visa_ok_second_card")
    banner.get_by_role("button", name="Record a new token").click()

    back_on_the_order_page(page, order)
    expect(page.locator(".ws-banner[data-hold=payment]")).to_have_count(0)
    assert Order.objects.get(pk=order.pk).status != "on_hold"
    assert sum(p.captured_amount for p in Payment.objects.filter(order=order)) == Decimal("48.38")
    assert_no_horizontal_scroll(page)
    assert_money_at_precision(page)
    screenshot(page, "order-workspace/payment-hold-new-token/2-resolved")


def test_a_csr_fixes_a_declined_increase_from_the_order_page_and_the_line_is_routed(page, login, stocked):
    """Adding a line to an allocated order whose card now lacks the funds holds it; a new token
    from the banner authorizes the difference, lifts the hold, and the added line is allocated."""
    order = capture(stocked, payment=payment("tok_insufficient_funds", kind="capture"))
    assert order.status == "allocated"
    open_as_csr(page, login, order)
    page.get_by_role("link", name="Change lines…").click()
    page.get_by_label("Add SKU").fill("TSHIRT-BLUE-M")
    page.get_by_label("Add quantity").fill("1")
    page.get_by_label("Add unit price").fill("19.99")
    page.get_by_label("Reason").fill("Customer adds a blue one")
    page.get_by_role("button", name="Save the lines").click()

    back_on_the_order_page(page, order)
    page.reload()  # the decline is recorded after the amendment commits
    banner = page.locator(".ws-banner[data-hold=payment]")
    assert "Authorization of the increase (19.99 USD) declined by sandbox: insufficient_funds" in banner.inner_text()
    expect(banner.get_by_role("button", name="Cancel the added lines")).to_be_visible()
    expect(page.locator("#order-status")).to_have_text("on_hold")
    assert_no_horizontal_scroll(page)
    assert_money_at_precision(page)
    screenshot(page, "order-workspace/declined-increase-new-token/1-banner")

    banner.get_by_placeholder("gateway token from the customer").fill("tok_visa_ok_second_card")
    banner.get_by_role("button", name="Record a new token").click()
    back_on_the_order_page(page, order)
    expect(page.locator(".ws-banner[data-hold=payment]")).to_have_count(0)
    expect(page.locator("#order-status")).to_have_text("allocated")
    blue = Order.objects.get(pk=order.pk).lines.get(sku="TSHIRT-BLUE-M")
    assert blue.qty_allocated == 1, "the line added during the hold is routed once it is resolved"
    assert "Increase authorized" in page.locator("#timeline").inner_text()
    assert_no_horizontal_scroll(page)
    assert_money_at_precision(page)
    screenshot(page, "order-workspace/declined-increase-new-token/2-resolved")
