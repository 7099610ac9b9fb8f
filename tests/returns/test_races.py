"""Refunds of one return asked for many times at once: real threads, real connections."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from orders.models import Payment
from orders.payments.models import Refund, SandboxLedgerEntry
from returns.models import Return
from tests.fulfillment.test_races import client_for, together
from tests.returns.helpers import delivered_order, request, setup_returns, units

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_concurrent_refund_requests_for_one_return_refund_once(api: Any) -> None:
    setup_returns(api, refund_on_inspection=False)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")], shipping="0.00")
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 2, "reason": "defective"}]).json()
    url = f"/api/v1/returns/{body['id']}/"
    api.client.post(url + "receive/", {"scans": ["TSHIRT-RED-M"] * 2}, format="json")
    grades = {"grades": [{"unit": pk, "grade": "resellable"} for pk in units(body)]}
    assert api.client.post(url + "inspect/", grades, format="json").json()["status"] == "inspected"

    answers = together(8, lambda i: client_for(api).post(url + "refund/", {}, format="json"))

    assert [a.status_code for a in answers] == [200] * 8
    assert {a.json()["refund"]["id"] for a in answers} == {Refund.objects.get(order=order).pk}
    payment = Payment.objects.get(order=order)
    assert payment.refunded_amount == Decimal("40.00")
    assert payment.refund_pending_amount == 0
    assert SandboxLedgerEntry.objects.filter(kind="refund").count() == 1
    assert Return.objects.get(pk=body["id"]).status == "completed"


def test_concurrent_refunds_of_different_sources_never_exceed_what_was_captured(api: Any) -> None:
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")], shipping="0.00")
    refund = {"amount": "15.00", "reason": "Goodwill"}

    answers = together(
        6,
        lambda i: client_for(api).post(
            f"/api/v1/orders/{order.number}/refunds/", {**refund, "reference": f"r{i}"}, format="json"
        ),  # fmt: skip
    )

    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409, 409]
    assert Payment.objects.get(order=order).refunded_amount == Decimal("15.00")
