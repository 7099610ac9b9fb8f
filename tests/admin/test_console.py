"""The admin console as each group sees it, and a CSR working a hold through its forms."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from oms.permissions import ADMIN, CSR, FINANCE, WAREHOUSE
from orders.models import Hold, Order
from tests import payloads
from tests.factories import OpsExceptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def user_in(group: str):
    user = UserFactory(username=f"{group.lower()}-user")
    user.groups.add(Group.objects.get(name=group))
    return user


PAGES = {
    CSR: ["orders_order_changelist", "orders_hold_changelist", "orders_customer_changelist",
          "oms_opsexception_changelist"],
    WAREHOUSE: ["fulfillment_fulfillmentorder_changelist", "fulfillment_shipment_changelist",
                "oms_opsexception_changelist"],
    FINANCE: ["orders_order_changelist", "orders_customer_changelist"],
    ADMIN: ["orders_order_changelist", "orders_hold_changelist", "oms_merchant_changelist", "oms_apikey_changelist",
            "oms_outboxevent_changelist", "auth_user_changelist"],
}  # fmt: skip


@pytest.mark.parametrize("group", [CSR, FINANCE, ADMIN])
def test_each_group_gets_its_pages_and_the_order_page(client, held_order, group):
    OpsExceptionFactory()
    client.force_login(user_in(group))
    for name in PAGES[group]:
        response = client.get(reverse(f"admin:{name}"), follow=True)
        assert response.status_code == 200, name
    page = client.get(reverse("admin:orders_order_change", args=[held_order.pk]))
    assert page.status_code == 200
    assert held_order.number in page.content.decode()


def test_the_warehouse_gets_its_queue_but_no_order_pages(client, held_order):
    """Order pages carry payment, fraud and e-mail data: the warehouse works from fulfilment orders."""
    client.force_login(user_in(WAREHOUSE))
    for name in PAGES[WAREHOUSE]:
        assert client.get(reverse(f"admin:{name}"), follow=True).status_code == 200, name
    assert client.get(reverse("admin:orders_order_changelist")).status_code == 403
    assert client.get(reverse("admin:orders_order_change", args=[held_order.pk])).status_code == 403
    # Nor the order's hold exceptions (their messages carry the customer's data) in the queue.
    queue = reverse("admin:oms_opsexception_changelist") + "?type=address_hold"
    assert held_order.number not in client.get(queue).content.decode()
    client.force_login(user_in(CSR))
    assert held_order.number in client.get(queue).content.decode()


def test_a_csr_sees_no_users_or_settings(client):
    client.force_login(user_in(CSR))
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403
    assert client.get(reverse("admin:oms_merchant_changelist")).status_code == 403


def test_the_order_page_shows_lines_holds_and_the_timeline_in_words(client, held_order):
    client.force_login(user_in(CSR))
    html = client.get(reverse("admin:orders_order_change", args=[held_order.pk])).content.decode()
    assert "TSHIRT-RED-M" in html
    assert "PO boxes cannot receive" in html
    assert "place hold" in html
    assert "validated → on_hold" in html
    assert "Fix the address (amend)" in html  # the hold's banner offers what resolves it
    assert "Ask a CSR lead to override" in html
    assert "Resolve a hold" not in html  # an address hold is not resolved by a note
    assert "Cancel order" in html


def test_a_note_does_not_release_an_address_hold_the_amendment_does(client, held_order):
    csr = user_in(CSR)
    client.force_login(csr)
    hold = held_order.holds.get()
    url = reverse("admin:orders_hold_change", args=[hold.pk])
    assert "Fix the address by amending the order" in client.get(url).content.decode()
    client.post(url, {"resolution_note": "Customer confirmed the PO box takes couriers"})
    assert (Hold.objects.get(pk=hold.pk).is_open, Order.objects.get(pk=held_order.pk).status) == (True, "on_hold")

    amend = reverse("admin:orders_order_amend", args=[held_order.pk])
    form = client.get(amend).context["form"].initial
    data = {k: v for k, v in form.items() if v is not None}
    client.post(amend, {**data, "line1": "1 Main Street", "service_level": "express"})
    hold = Hold.objects.get(pk=hold.pk)
    order = Order.objects.get(pk=held_order.pk)
    assert (hold.is_open, hold.resolved_by, order.status) == (False, csr.username, "validated")
    assert order.events.filter(name="resume", actor_label=csr.username).exists()


def test_the_holds_queue_lists_open_holds_oldest_first(client, held_order):
    client.force_login(user_in(CSR))
    response = client.get(reverse("admin:orders_hold_changelist"), follow=True)
    assert held_order.number in response.content.decode()


def test_transition_buttons_run_the_services_and_are_logged(client, held_order):
    client.force_login(user_in(CSR))
    url = reverse("admin:orders_order_transition", args=[held_order.pk, "cancel"])
    assert client.get(url).status_code == 200  # the reason form
    response = client.post(url, {"reason": "Fraudulent address"})
    assert response.status_code == 302
    order = Order.objects.get(pk=held_order.pk)
    assert order.status == "cancelled"
    assert order.events.filter(name="cancel", reason="Fraudulent address").exists()
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "Cancelled: Fraudulent address" in page  # the admin change log on the order


def test_place_hold_needs_a_reason_and_an_illegal_transition_is_a_message(client, api):
    order_number = api.client.post("/api/v1/orders/", payloads.order(), format="json").json()["number"]
    order = Order.objects.get(number=order_number)
    client.force_login(user_in(CSR))
    url = reverse("admin:orders_order_transition", args=[order.pk, "place_hold"])
    assert client.post(url, {"type": "manual", "reason": ""}).status_code == 200  # form redisplayed
    client.post(url, {"type": "manual", "reason": "Customer asked to wait"})
    assert Order.objects.get(pk=order.pk).status == "on_hold"
    # resolving needs an open hold; cancelling a cancelled order shows an error, not a crash
    cancel = reverse("admin:orders_order_transition", args=[order.pk, "cancel"])
    client.post(cancel, {"reason": "x"})
    response = client.post(cancel, {"reason": "again"}, follow=True)
    assert response.status_code == 200
    assert "not allowed" in response.content.decode() or "can no longer" in response.content.decode()


def test_a_csr_amends_an_order_in_the_admin_with_api_validation(client, held_order):
    client.force_login(user_in(CSR))
    url = reverse("admin:orders_order_amend", args=[held_order.pk])
    form = client.get(url).context["form"].initial
    bad = {**{k: v or "" for k, v in form.items()}, "postal_code": "ABC"}
    response = client.post(url, bad)
    assert response.status_code == 200
    assert "shipping_address.postal_code" in response.content.decode()
    good = {**{k: v or "" for k, v in form.items()}, "line1": "1 Market St"}
    assert client.post(url, good).status_code == 302
    order = Order.objects.get(pk=held_order.pk)
    assert order.status == "validated"
    assert order.shipping_address["line1"] == "1 Market St"


def test_the_order_list_runs_a_constant_number_of_queries(client, api, django_assert_max_num_queries):
    client.force_login(user_in(ADMIN))
    for i in range(30):
        api.client.post("/api/v1/orders/", payloads.order(external_id=f"Q-{i}"), format="json")
    with django_assert_max_num_queries(15):
        assert client.get(reverse("admin:orders_order_changelist")).status_code == 200
    with django_assert_max_num_queries(15):
        client.get(reverse("admin:orders_order_changelist") + "?hold=any&q=ana")
