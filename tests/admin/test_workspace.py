"""The order workspace's header, buttons and history: what a CSR reads and may press."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oms.permissions import CSR
from orders.models import Order, OrderStatus
from tests import payloads
from tests.admin.test_console import user_in
from tests.factories import OrderFactory, OrderLineFactory
from tests.payments.helpers import place

pytestmark = pytest.mark.django_db


def page_of(client, order: Order) -> str:
    return client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()


def buttons(html: str) -> str:
    start = html.index('class="ws-actions"')
    return html[start : html.index("</div>", start)]


def test_the_header_says_status_customer_channel_total_payment_and_promise(
    client, api, django_capture_on_commit_callbacks
):
    order, _ = place(api, django_capture_on_commit_callbacks)
    Order.objects.filter(pk=order.pk).update(promise_date="2026-12-24")
    client.force_login(user_in(CSR))
    html = page_of(client, order)
    head = html[html.index('class="ws-head"') : html.index('class="ws-actions"')]
    for shown in (order.status, "Ana Silva", "web", "48.38 USD", "48.38 USD captured of 48.38 USD authorized",
                  "Dec. 24, 2026", "ship, standard"):  # fmt: skip
        assert shown in head, shown


@pytest.mark.parametrize(
    ("status", "offered", "absent"),
    [
        (OrderStatus.VALIDATED, ["Amend order…", "Change lines…", "Cancel lines…"], []),
        (OrderStatus.ALLOCATED, ["Amend order…", "Change lines…", "Cancel lines…"], []),
        (OrderStatus.RELEASED, ["Cancel lines…"], ["Amend order…", "Change lines…"]),
        (OrderStatus.SHIPPED, [], ["Amend order…", "Change lines…", "Cancel lines…", "Cancel order…"]),
    ],
)
def test_only_the_changes_the_state_allows_are_offered(client, api, status, offered, absent):
    order = OrderFactory(merchant=api.merchant, channel=api.web, status=status)
    line = OrderLineFactory(order=order, product=api.red, quantity=2)
    if status == OrderStatus.SHIPPED:
        type(line).objects.filter(pk=line.pk).update(qty_shipped=2)
    client.force_login(user_in(CSR))
    shown = buttons(page_of(client, order)) if offered else page_of(client, order)
    for label in offered:
        assert label in shown, label
    for label in absent:
        assert f">{label}<" not in shown, label


def test_a_csr_edits_the_billing_address_and_the_timeline_says_before_and_after(client, api):
    number = api.client.post("/api/v1/orders/", payloads.order(), format="json").json()["number"]
    order = Order.objects.get(number=number)
    client.force_login(user_in(CSR))
    url = reverse("admin:orders_order_amend", args=[order.pk])
    form = {k: v for k, v in client.get(url).context["form"].initial.items() if v is not None}
    response = client.post(url, {**form, "bill_line1": "500 Howard St", "bill_line2": "", "bill_postal_code": "94105"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert order.billing_address["line1"] == "500 Howard St"
    assert order.shipping_address["line1"] == "1 Market St", "the shipping address is left as it was"
    timeline = page_of(client, order)
    assert "billing_address: 1 Market St, Apt 5, San Francisco, CA, 94105, US → 500 Howard St" in timeline


def test_the_api_edits_the_billing_address_with_the_same_validation(api):
    number = api.client.post("/api/v1/orders/", payloads.order(), format="json").json()["number"]
    address = {**payloads.ORDER["billing_address"], "line1": "500 Howard St", "postal_code": "ABCDE"}
    bad = api.client.patch(f"/api/v1/orders/{number}/", {"billing_address": address}, format="json")
    assert (bad.status_code, bad.json()["errors"][0]["field"]) == (400, "billing_address.postal_code")
    address["postal_code"] = "94105"
    good = api.client.patch(f"/api/v1/orders/{number}/", {"billing_address": address}, format="json")
    assert good.status_code == 200, good.json()
    assert good.json()["billing_address"]["line1"] == "500 Howard St"


def test_a_cancellations_refund_is_on_the_timeline_with_its_amount(client, api, django_capture_on_commit_callbacks):
    order, _ = place(api, django_capture_on_commit_callbacks)
    line = order.lines.get()
    client.force_login(user_in(CSR))
    url = reverse("admin:orders_order_cancel_lines", args=[order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {f"line_{line.pk}": 1, "reason": "One is enough", "confirm": "1"})
    timeline = page_of(client, order)
    timeline = timeline[timeline.index('id="timeline"') :]
    assert "TSHIRT-RED-M × 1" in timeline
    assert "21.69 USD" in timeline, "the refund's amount, at the currency's precision"
