"""Returns in the operations console: a CSR starts a return from the order page, the warehouse
receives and inspects it with the scan screen, a CSR lead and Finance work the approval queue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from oms.permissions import CSR, CSR_LEAD, FINANCE, WAREHOUSE
from returns.models import Appeasement, Return
from tests.factories import UserFactory
from tests.fulfillment.helpers import tracking_event
from tests.returns.helpers import atp, delivered_order, request, setup_returns

pytestmark = pytest.mark.django_db


def login(client: Any, group: str) -> Any:
    user = UserFactory(username=group.replace(" ", "-").lower())
    user.groups.add(Group.objects.get(name=group))
    client.force_login(user)
    return client


def test_a_return_from_the_order_page_through_the_scan_screens(api: Any, client: Any) -> None:
    centre = setup_returns(api)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")], shipping="0.00")
    csr = login(client, CSR)
    page = csr.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    for button in ("Start a return", "Claim", "Appease"):
        assert button in page
    line = order.lines.get()
    start = reverse("admin:returns_return_start", args=[order.pk, "return"])
    response = csr.post(start, {"method": "ship_back", f"qty_{line.pk}": 1, f"reason_{line.pk}": "defective"})
    assert response.status_code == 302, response.content.decode()[:2000]
    rma = Return.objects.get()
    assert rma.status == "authorized"

    warehouse = login(client, WAREHOUSE)
    queue = warehouse.get(reverse("admin:returns_return_changelist") + "?queue=to_receive").content.decode()
    assert rma.number in queue
    act = reverse("admin:returns_return_act", args=[rma.pk, "receive"])
    assert "0012345678905" in warehouse.get(act).content.decode()  # the barcodes to expect
    assert warehouse.post(act, {"scans": "0012345678905\n"}).status_code == 302
    unit = rma.lines.get().units.get()
    inspect = reverse("admin:returns_return_act", args=[rma.pk, "inspect"])
    assert warehouse.post(inspect, {f"grade_{unit.pk}": "resellable"}).status_code == 302
    rma.refresh_from_db()
    assert rma.status == "completed"
    assert rma.refund.amount == Decimal("20.00")
    assert atp(api.red, centre) == 1


def test_the_approval_queue_lets_each_approve_within_their_limit(api: Any, client: Any) -> None:
    setup_returns(api, csr_limit=Decimal("50"), lead_limit=Decimal("250"))
    order = delivered_order(api, [(api.red, 1, "400.00", "0.00", "0.00")])
    csr = login(client, CSR)
    appease = reverse("admin:returns_return_start", args=[order.pk, "appeasement"])
    assert csr.post(appease, {"amount": "300.00", "reason": "Late twice"}).status_code == 302
    appeasement = Appeasement.objects.get()
    assert (appeasement.status, appeasement.level) == ("pending", "finance")

    changelist = reverse("admin:returns_appeasement_changelist")
    lead = login(client, CSR_LEAD)
    assert "Late twice" not in lead.get(changelist + "?approval=mine").content.decode()
    lead.post(changelist, {"action": "approve", "_selected_action": [appeasement.pk]})
    assert Appeasement.objects.get().status == "pending"

    finance = login(client, FINANCE)
    assert "Late twice" in finance.get(changelist + "?approval=mine").content.decode()
    finance.post(changelist, {"action": "approve", "_selected_action": [appeasement.pk]})
    approved = Appeasement.objects.get()
    assert approved.status == "approved"
    assert approved.refund.amount == Decimal("300.00")


def test_a_csr_marks_a_parcel_lost_in_transit(api: Any, client: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}]).json()
    tracking_event(client, carrier=body["carrier"], tracking_number=body["tracking_number"], status="in_transit",
                   event_id="e1", occurred_at="2026-12-06T10:00:00Z")  # fmt: skip
    csr = login(client, CSR)
    page = csr.get(reverse("admin:returns_return_change", args=[body["id"]])).content.decode()
    assert "Lost in transit" in page
    assert csr.post(reverse("admin:returns_return_act", args=[body["id"], "lost"])).status_code == 302
    rma = Return.objects.get(pk=body["id"])
    assert rma.status == "cancelled"
    assert [u.receipt for u in rma.lines.get().units.all()] == ["lost_in_transit"]


@pytest.mark.parametrize(
    ("group", "pages"),
    [
        (CSR, ["returns_return_changelist", "returns_claim_changelist", "returns_appeasement_changelist",
               "returns_returnreason_changelist"]),
        (CSR_LEAD, ["returns_return_changelist", "returns_appeasement_changelist"]),
        (WAREHOUSE, ["returns_return_changelist"]),
        (FINANCE, ["returns_claim_changelist", "returns_appeasement_changelist", "returns_return_changelist"]),
    ],
)  # fmt: skip
def test_each_group_opens_its_returns_pages(api: Any, client: Any, group: str, pages: list[str]) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}])
    user = login(client, group)
    for page in pages:
        assert user.get(reverse(f"admin:{page}")).status_code == 200, page
    rma = Return.objects.get()
    assert user.get(reverse("admin:returns_return_change", args=[rma.pk])).status_code == 200
