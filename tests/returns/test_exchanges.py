"""Exchanges: the replacement is a real order paid with the returned goods' value; the
difference is collected through the gateway or refunded; an advance exchange holds an
authorization that is captured when the goods never arrive."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from oms.models import OutboxEvent
from orders.models import Order, Payment
from orders.payments.models import SandboxLedgerEntry
from returns.models import Exchange, Return
from returns.services.exchanges import exchanges_capture_due
from tests.returns.helpers import delivered_order, request, setup_returns, units

pytestmark = pytest.mark.django_db
TOKEN = {"gateway": "sandbox", "token": "tok_visa_ok"}


def _back(api: Any, run_commits: Any, body: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v1/returns/{body['id']}/"
    api.client.post(url + "receive/", {"scans": ["TSHIRT-RED-M"] * len(units(body))}, format="json")
    grades = {"grades": [{"unit": pk, "grade": "resellable"} for pk in units(body)]}
    return run_commits(api.client.post, url + "inspect/", grades, format="json").json()


def test_a_dearer_replacement_collects_the_difference_through_the_gateway(api: Any, run_commits: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")], shipping="0.00")
    exchange = {"lines": [{"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "25.00"}], "payment": TOKEN}
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}], exchange=exchange)
    assert body.status_code == 201, body.json()
    assert body.json()["exchange"]["difference"] == "5.00"

    result = _back(api, run_commits, body.json())

    assert result["status"] == "completed"
    assert result["refund"] is None  # the whole value went into the replacement
    replacement = Order.objects.get(number=result["exchange"]["replacement_order"])
    assert replacement.total == Decimal("25.00")
    assert "Exchange for return" in replacement.notes
    paid = {p.transaction_type: p for p in Payment.objects.filter(order=replacement)}
    assert paid["capture"].captured_amount == Decimal("20.00")  # the returned goods' credit
    assert paid["authorize"].captured_amount == Decimal("5.00")  # collected through the gateway
    assert SandboxLedgerEntry.objects.filter(kind="capture", amount=Decimal("5.00"), approved=True).count() == 1
    assert replacement.status not in ("received", "validated")  # it went on through the payment rule
    assert OutboxEvent.objects.filter(type="exchange.created", payload__replacement_order=replacement.number).exists()
    call_command("inventory_audit")


def test_a_cheaper_replacement_refunds_the_difference(api: Any, run_commits: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")], shipping="0.00")
    exchange = {"lines": [{"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "25.00"}]}
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 2, "reason": "defective"}], exchange=exchange)
    assert body.status_code == 201, body.json()

    result = _back(api, run_commits, body.json())

    assert result["status"] == "completed"
    assert result["refund"]["amount"] == "15.00"  # 40.00 returned - 25.00 replacement
    assert Payment.objects.get(order=order).refunded_amount == Decimal("15.00")
    replacement = Order.objects.get(number=result["exchange"]["replacement_order"])
    assert [p.captured_amount for p in Payment.objects.filter(order=replacement)] == [Decimal("25.00")]


def test_an_advance_exchange_whose_goods_never_arrive_is_captured(api: Any, run_commits: Any) -> None:
    setup_returns(api, advance_exchange=True, advance_exchange_days=30)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")], shipping="0.00")
    exchange = {"lines": [{"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "20.00"}], "payment": TOKEN,
                "advance": True}  # fmt: skip
    response = run_commits(request, api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}],
                           exchange=exchange)  # fmt: skip
    assert response.status_code == 201, response.json()
    body = response.json()
    # Released at once: the replacement exists before anything came back, an authorization is held.
    assert body["status"] == "authorized"
    assert body["exchange"]["replacement_order"]
    hold = Exchange.objects.get(rma_id=body["id"]).hold_payment
    assert (hold.order, hold.status, hold.authorized_amount) == (order, "authorized", Decimal("20.00"))
    assert SandboxLedgerEntry.objects.filter(kind="authorize", amount=Decimal("20.00")).count() == 1

    assert exchanges_capture_due(now=timezone.now() + timedelta(days=29)) == 0  # not yet due
    assert exchanges_capture_due(now=timezone.now() + timedelta(days=31)) == 1

    hold.refresh_from_db()
    assert hold.status == "captured"
    assert hold.captured_amount == Decimal("20.00")
    assert Exchange.objects.get(rma_id=body["id"]).hold_settled == "captured"
    assert exchanges_capture_due(now=timezone.now() + timedelta(days=32)) == 0  # once
    assert Return.objects.get(pk=body["id"]).status == "authorized"


def test_advance_exchanges_are_refused_where_the_merchant_does_not_offer_them(api: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")], shipping="0.00")
    exchange = {"lines": [{"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "20.00"}], "payment": TOKEN,
                "advance": True}  # fmt: skip
    response = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}], exchange=exchange)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "exchange.advance"
    assert not Return.objects.exists()
