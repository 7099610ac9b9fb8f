"""A CSR reads a shipment's tracking history, from the order page to the shipment page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from oms.permissions import CSR
from tests.browser.conftest import assert_no_horizontal_scroll, screenshot
from tests.factories import UserFactory
from tests.fulfillment.test_tracking import send, shipped  # noqa: F401  (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_csr_reads_a_shipments_tracking_history(page, login, api, shipped):  # noqa: F811
    send(api, shipped, "in_transit", "evt-1", 2, location="Edison NJ")
    send(api, shipped, "out_for_delivery", "evt-2", 20, location="Newark NJ")
    csr = UserFactory(username="csr")
    csr.groups.add(Group.objects.get(name=CSR))
    login(csr)

    page.goto(f"/admin/orders/order/{shipped.order_id}/change/")
    page.get_by_role("link", name=shipped.tracking_number).first.click()
    page.wait_for_url(f"**/admin/fulfillment/shipment/{shipped.pk}/change/")
    history = page.locator("#tracking-history")
    expect(history.locator("tbody tr")).to_have_count(2)
    assert "Newark NJ" in history.inner_text()
    assert "out for delivery" in history.inner_text().lower()
    assert_no_horizontal_scroll(page)
    screenshot(page, "shipment-tracking/csr-reads-history")
