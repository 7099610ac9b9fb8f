"""A return through the API from request to refund: label, carrier events, receipt, inspection,
putaway through the ledger and the refund computed to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command

from inventory.models import Movement
from oms.models import OutboxEvent
from orders.models import Payment
from orders.payments.models import Refund
from returns.models import Return
from tests.fulfillment.helpers import tracking_event
from tests.returns.helpers import atp, california_tax, delivered_order, request, setup_returns, units

pytestmark = pytest.mark.django_db


def _grade_all(api: Any, body: dict[str, Any], grade: str = "resellable") -> Any:
    grades = [{"unit": pk, "grade": grade} for pk in units(body)]
    return api.client.post(f"/api/v1/returns/{body['id']}/inspect/", {"grades": grades}, format="json")


def test_it_refunds_a_full_return_to_the_cent_with_tax_and_shipping(api: Any, client: Any) -> None:
    centre = setup_returns(api, shipping_refund="full_return")
    california_tax(api, "0.0850")
    order = delivered_order(api, [(api.red, 2, "20.00", "4.00", "3.06"), (api.blue, 1, "10.00", "0.00", "0.85")],
                            shipping="6.00", shipping_tax="0.51")  # fmt: skip
    assert order.total == Decimal("56.42")

    response = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 2, "reason": "defective"},
                                    {"sku": "TSHIRT-BLUE-M", "quantity": 1, "reason": "defective"}])  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "authorized"
    assert body["node"] == "RC-EAST"
    assert body["tracking_number"]
    assert body["label_url"]
    label = client.get(body["label_url"].split("8000", 1)[1])
    assert label.status_code == 200
    assert label.content.startswith(b"%PDF")

    # The carrier's events on the label's own number move the return; only the scan receives it.
    for event_id, status in [("e1", "in_transit"), ("e2", "delivered")]:
        answer = tracking_event(client, carrier=body["carrier"], tracking_number=body["tracking_number"],
                                status=status, event_id=event_id, occurred_at="2026-12-06T10:00:00Z")  # fmt: skip
        assert answer.status_code == 201, answer.json()
    assert Return.objects.get(pk=body["id"]).status == "arrived"

    scans = ["0012345678905", "0012345678905", "0012345678912"]
    received = api.client.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": scans}, format="json")
    assert received.status_code == 200, received.json()
    assert {u["receipt"] for line in received.json()["lines"] for u in line["units"]} == {"received"}
    assert order.lines.get(sku="TSHIRT-RED-M").qty_returned == 2

    done = _grade_all(api, received.json())
    assert done.status_code == 200, done.json()
    result = done.json()
    assert result["status"] == "completed"
    # 36.00 + 10.00 items after the discount, 3.06 + 0.85 tax, 6.00 shipping + 0.51 its tax.
    assert result["refund"]["amount"] == "56.42"
    assert result["refund"]["tax_amount"] == "4.42"  # the items' and the shipping's tax
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == Decimal("56.42")
    assert payment.status == "refunded"
    # Resellable units went back to the centre's ATP, through the ledger, referencing the return.
    assert atp(api.red, centre) == 2
    assert atp(api.blue, centre) == 1
    restocks = Movement.objects.filter(kind="return_restock", ref_type="returns.return", ref_id=str(body["id"]))
    assert sum(m.on_hand_delta for m in restocks) == 3
    assert OutboxEvent.objects.filter(type="inventory.received", payload__kind="return_restock").exists()
    types = list(OutboxEvent.objects.filter(subject_type="returns.return").values_list("type", flat=True))
    assert types == ["return.requested", "return.authorized", "return.received", "return.inspected",
                     "return.completed"]  # fmt: skip
    # The order API shows its returns.
    shown = api.client.get(f"/api/v1/orders/{order.number}/").json()["returns"]
    assert [r["number"] for r in shown] == [body["number"]]
    assert shown[0]["status"] == "completed"
    call_command("inventory_audit")


def test_it_refunds_one_of_two_units_with_prorated_shipping_and_restocking_fee(api: Any) -> None:
    centre = setup_returns(api, shipping_refund="prorated")
    california_tax(api, "0.0850")
    order = delivered_order(api, [(api.red, 2, "20.00", "4.00", "3.06"), (api.blue, 1, "10.00", "0.00", "0.85")],
                            shipping="6.00", shipping_tax="0.51")  # fmt: skip
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "changed_mind"}]).json()
    assert body["status"] == "authorized"
    api.client.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": ["TSHIRT-RED-M"]}, format="json")
    result = _grade_all(api, body).json()
    # 18.00 item + 1.53 tax + 2.35 shipping share (6 x 18/46) + 0.20 its tax - 1.80 restocking fee (10 %).
    assert result["refund"]["amount"] == "20.28"
    assert atp(api.red, centre) == 1
    line = order.lines.get(sku="TSHIRT-RED-M")
    assert (line.qty_delivered, line.qty_returned) == (2, 1)
    # The second unit can still be returned; a third cannot.
    again = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 2, "reason": "changed_mind"}])
    assert again.status_code == 422
    assert again.json()["errors"][0]["field"] == "lines[0]"
    assert "at most 1" in again.json()["errors"][0]["message"]
    call_command("inventory_audit")


def test_it_refuses_a_return_outside_the_window_with_the_reason(api: Any) -> None:
    setup_returns(api)
    api.red.return_window_days = 30
    api.red.save()
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")], delivered_days_ago=31)
    response = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "changed_mind"}])
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["code"] == "not_eligible"
    assert error["field"] == "lines[0]"
    assert "30-day return window" in error["message"]
    assert "closed on" in error["message"]
    assert not Return.objects.exists()


def test_it_quarantines_a_damaged_unit_and_never_puts_it_in_atp(api: Any) -> None:
    centre = setup_returns(api)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")])
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 2, "reason": "defective"}]).json()
    api.client.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": ["TSHIRT-RED-M"] * 2}, format="json")
    first, second = units(body)
    grades = [{"unit": first, "grade": "resellable"}, {"unit": second, "grade": "damaged"}]
    result = api.client.post(f"/api/v1/returns/{body['id']}/inspect/", {"grades": grades}, format="json").json()
    outcome = {u["id"]: u["disposition"] for u in result["lines"][0]["units"]}
    assert outcome == {first: "restock", second: "quarantine"}
    assert atp(api.red, centre) == 1  # the damaged one is not for sale
    assert not Movement.objects.filter(kind="return_restock", on_hand_delta__gt=1).exists()
    call_command("inventory_audit")


def test_it_restocks_the_store_for_a_return_in_store(api: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    response = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "changed_mind"}],
                       method="in_store", node=api.store.code)  # fmt: skip
    body = response.json()
    assert response.status_code == 201
    assert body["status"] == "authorized"
    assert body["label_url"] is None
    event = OutboxEvent.objects.get(type="return.authorized")
    assert "service desk" in event.payload["return"]["instructions"]
    received = api.client.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": ["TSHIRT-RED-M"]}, format="json")
    assert received.json()["status"] == "received"  # BORIS: authorized -> received at the store
    result = _grade_all(api, body).json()
    assert result["status"] == "completed"
    assert result["refund"]["amount"] == "24.00"
    assert atp(api.red, api.store) == 1
    movement = Movement.objects.get(kind="return_restock")
    assert movement.stock.node == api.store
    assert movement.ref_id == str(body["id"])
    call_command("inventory_audit")


def test_a_double_refund_click_refunds_once(api: Any) -> None:
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    for _ in range(2):
        body = {"amount": "5.00", "reason": "Late", "reference": "ticket-7"}
        response = api.client.post(f"/api/v1/orders/{order.number}/refunds/", body, format="json")
        assert response.status_code == 201
    assert Refund.objects.filter(order=order).count() == 1
    assert Payment.objects.get(order=order).refunded_amount == Decimal("5.00")
