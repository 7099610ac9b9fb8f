"""Holds are resolved by fixing them; a hold and its exception are one piece of work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from oms.actors import Actor
from oms.alerts import exception_resolve
from oms.errors import DomainError
from oms.models import OpsException
from oms.permissions import CSR, CSR_LEAD
from orders.models import Hold, Order
from orders.services.holds import hold_place, hold_release
from tests.admin.test_console import user_in

pytestmark = pytest.mark.django_db
ACTOR = Actor("user", "csr-ana", None)


def test_resolving_a_manual_holds_exception_in_the_queue_resolves_the_hold_and_resumes(held_order):
    hold_place(order=held_order, type=Hold.Type.MANUAL, reason="Customer asked to wait", actor=ACTOR)
    exc = OpsException.objects.get(type="manual_hold", status="open")
    exception_resolve(exception=exc, actor=ACTOR, note="Customer says go ahead")
    manual = Hold.objects.get(order=held_order, type=Hold.Type.MANUAL)
    assert (manual.is_open, manual.resolution_note) == (False, "Customer says go ahead")
    assert Order.objects.get(pk=held_order.pk).status == "on_hold"  # the address hold still stands


def test_an_address_holds_exception_is_not_resolved_by_a_note_and_both_stay_open(held_order):
    exc = OpsException.objects.get(type="address_hold", status="open")
    with pytest.raises(DomainError, match="amending the order"):
        exception_resolve(exception=exc, actor=ACTOR, note="looks fine")
    assert OpsException.objects.get(pk=exc.pk).status == "open"
    assert held_order.holds.get().is_open
    with pytest.raises(DomainError):
        hold_release(hold=held_order.holds.get(), actor=ACTOR, note="looks fine")


def test_the_queue_says_why_it_cannot_resolve_a_hold_exception(client, held_order):
    client.force_login(user_in(CSR))
    exc = OpsException.objects.get(type="address_hold")
    changelist = reverse("admin:oms_opsexception_changelist")
    response = client.post(changelist, {"action": "resolve", "_selected_action": [exc.pk]}, follow=True)
    assert "Fix the address by amending the order" in response.content.decode()
    assert OpsException.objects.get(pk=exc.pk).status == "open"


def test_an_address_override_is_asked_by_a_csr_and_approved_by_a_csr_lead(client, held_order):
    hold = held_order.holds.get()
    url = reverse("admin:orders_order_hold_override", args=[held_order.pk, hold.pk])
    client.force_login(user_in(CSR))
    client.post(url, {"reason": "The customer's building takes courier parcels at the PO box desk"})
    hold.refresh_from_db()
    assert (hold.is_open, hold.details["override"]["requested_by"]) == (True, "csr-user")
    assert client.post(url).status_code == 403  # a CSR cannot approve
    page = client.get(reverse("admin:orders_order_change", args=[held_order.pk])).content.decode()
    assert "Override asked by csr-user" in page
    assert "Approve the override" not in page

    client.force_login(user_in(CSR_LEAD))
    assert (
        "Approve the override"
        in client.get(reverse("admin:orders_order_change", args=[held_order.pk])).content.decode()
    )
    client.post(url)
    hold.refresh_from_db()
    assert (hold.is_open, hold.resolved_by) == (False, "csr lead-user")
    assert "approved by csr lead-user: The customer's building" in hold.resolution_note
    assert OpsException.objects.get(type="address_hold").status == "resolved"
    assert Order.objects.get(pk=held_order.pk).status == "validated"
