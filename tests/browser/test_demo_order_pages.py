"""The order workspace over the demo data, one order of each status: every page fits the
1440 px window and shows every amount at its currency's precision, with its code."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from orders.models import Order
from tests.browser.conftest import assert_money_at_precision, assert_no_horizontal_scroll, screenshot
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_each_kind_of_demo_order_page_fits_the_window_with_money_at_precision(page, login):
    call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    login(UserFactory(username="walker", is_staff=True, is_superuser=True))  # every card, every button
    orders = {}
    for order in Order.objects.order_by("pk"):
        orders.setdefault(order.status, order)
    assert {"on_hold", "released", "shipped", "delivered", "cancelled"} <= set(orders)
    for status, order in sorted(orders.items()):
        page.goto(f"/admin/orders/order/{order.pk}/change/")
        assert page.locator("#order-status").inner_text() == status
        assert_no_horizontal_scroll(page)
        assert_money_at_precision(page)
        screenshot(page, f"demo-order-pages/{status}")
