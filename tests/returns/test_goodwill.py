"""Claims and appeasements: approval by amount (CSR, CSR lead, Finance), refunds once per
claim or appeasement, and free replacements that are real orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group

from oms.actors import Actor
from oms.models import OutboxEvent
from oms.permissions import CSR, CSR_LEAD, FINANCE
from orders.models import Order, Payment
from orders.payments.models import Refund
from returns.models import Appeasement
from returns.services.approvals import BeyondLimit, authority_of
from returns.services.goodwill import appeasement_approve
from tests.factories import UserFactory
from tests.notifications.conftest import parts
from tests.returns.helpers import delivered_order, setup_returns

pytestmark = pytest.mark.django_db


def user_in(group: str) -> Any:
    user = UserFactory(username=group.replace(" ", "_").lower())
    user.groups.add(Group.objects.get(name=group))
    return user


def _approve(appeasement: Appeasement, user: Any) -> Appeasement:
    return appeasement_approve(appeasement=appeasement, actor=Actor.user(user), authority=authority_of(user))


def test_an_appeasement_over_the_csr_limit_waits_for_finance(api: Any) -> None:
    setup_returns(api, csr_limit=Decimal("50"), lead_limit=Decimal("250"))
    order = delivered_order(api, [(api.red, 1, "400.00", "0.00", "0.00")])
    response = api.client.post(f"/api/v1/orders/{order.number}/appeasements/",
                               {"amount": "300.00", "reason": "Arrived a week late"}, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    assert (response.json()["status"], response.json()["level"], response.json()["refund"]) == (
        "pending", "finance", None)  # fmt: skip
    appeasement = Appeasement.objects.get()

    for group in (CSR, CSR_LEAD):
        with pytest.raises(BeyondLimit, match="needs approval by Finance"):
            _approve(appeasement, user_in(group))
    assert not Refund.objects.exists()

    approved = _approve(appeasement, user_in(FINANCE))
    assert approved.status == "approved"
    assert approved.decided_by == "finance"
    assert approved.refund.amount == Decimal("300.00")
    assert Payment.objects.get(order=order).refunded_amount == Decimal("300.00")
    assert OutboxEvent.objects.filter(type="return.appeasement_issued", payload__amount="300.00").count() == 1


def test_a_csr_lead_approves_up_to_the_leads_limit(api: Any) -> None:
    setup_returns(api, csr_limit=Decimal("50"), lead_limit=Decimal("250"))
    order = delivered_order(api, [(api.red, 1, "400.00", "0.00", "0.00")])
    api.client.post(f"/api/v1/orders/{order.number}/appeasements/", {"amount": "120.00", "reason": "Scratched"},
                    format="json")  # fmt: skip
    appeasement = Appeasement.objects.get()
    assert appeasement.level == "lead"
    with pytest.raises(BeyondLimit):
        _approve(appeasement, user_in(CSR))
    assert _approve(appeasement, user_in(CSR_LEAD)).status == "approved"


def test_an_appeasement_within_the_csr_limit_is_issued_and_e_mailed(api: Any, run_commits: Any,
                                                                    smtp_server: Any) -> None:  # fmt: skip
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "40.00", "0.00", "0.00")])
    response = run_commits(api.client.post, f"/api/v1/orders/{order.number}/appeasements/",
                           {"amount": "10.00", "reason": "Gift wrap missing"}, format="json")  # fmt: skip
    assert response.json()["status"] == "approved"
    assert response.json()["refund"]["amount"] == "10.00"
    message = smtp_server.one("A gesture of goodwill")
    assert smtp_server.subjects() == [message["Subject"]]  # not a second "We refunded" e-mail
    assert message["Subject"] == f"A gesture of goodwill for your order {order.number}"
    assert "Gift wrap missing" in parts(message)["text/plain"]
    assert "$10.00" in parts(message)["text/plain"]


def test_a_claim_with_a_free_replacement_ships_a_real_order(api: Any, run_commits: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")])
    response = api.client.post("/api/v1/claims/", {
        "order": order.number, "kind": "damaged_in_transit", "resolution": "replacement",
        "lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}], "reason": "Box crushed, photo in ticket 88",
    }, format="json")  # fmt: skip
    assert response.status_code == 201, response.json()
    claim = response.json()
    assert claim["status"] == "pending"

    approved = run_commits(api.client.post, f"/api/v1/claims/{claim['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["status"] == "approved"
    assert approved.json()["refund"] is None
    replacement = Order.objects.get(number=approved.json()["replacement_order"])
    assert [(line.sku, line.quantity, line.unit_price) for line in replacement.lines.all()] == [
        ("TSHIRT-RED-M", 1, Decimal("0"))]  # fmt: skip
    assert replacement.total == 0
    assert replacement.status not in ("received", "validated")  # on through the payment rule to routing
    assert f"claim {claim['id']}" in replacement.notes
    assert OutboxEvent.objects.filter(type="claim.approved", payload__replacement_order=replacement.number).exists()
    # Approving again is refused; nothing is sent twice.
    assert api.client.post(f"/api/v1/claims/{claim['id']}/approve/", {}, format="json").status_code == 409
    assert Order.objects.filter(notes__contains=f"claim {claim['id']}").count() == 1


def test_a_refund_claim_refunds_the_units_value_once(api: Any) -> None:
    setup_returns(api, shipping_refund="never")
    order = delivered_order(api, [(api.red, 2, "20.00", "2.00", "0.00")])
    claim = api.client.post("/api/v1/claims/", {
        "order": order.number, "kind": "missing_item", "resolution": "refund",
        "lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}], "reason": "Only one in the box",
    }, format="json").json()  # fmt: skip
    assert claim["amount"] == "19.00"  # (2 x 20.00 - 2.00 discount) / 2
    approved = api.client.post(f"/api/v1/claims/{claim['id']}/approve/", {}, format="json").json()
    assert approved["refund"]["amount"] == "19.00"
    assert Payment.objects.get(order=order).refunded_amount == Decimal("19.00")


def test_an_appeasement_of_nothing_is_refused_naming_the_amount(api: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "40.00", "0.00", "0.00")])
    response = api.client.post(f"/api/v1/orders/{order.number}/appeasements/", {"amount": 0.0, "reason": "0" * 300},
                               format="json")  # fmt: skip
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == "amount"
    assert not Appeasement.objects.exists()
