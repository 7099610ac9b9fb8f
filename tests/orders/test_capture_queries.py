"""What a capture costs and what it answers: a fixed number of statements from the API key to
the rendered 201, as CaptureQueriesContext sees them on PostgreSQL (BEGIN, COMMIT and
SAVEPOINTs included: these tests do not wrap a transaction), and a 201 rendered from the rows
just written that is the GET of the same order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oms import outbox
from orders.fraud.models import FraudSettings
from tests import payloads
from tests.factories import (
    DenyListEntryFactory,
    FraudSettingsFactory,
    MerchantPaymentSettingsFactory,
    ProductFactory,
    TaxRateFactory,
    TaxSettingsFactory,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# From the API key to the 201 (docs/PERFORMANCE.md lists them); 27 before issue 12.
CAPTURE_STATEMENTS = 15

# Three lines whose declared tax is the merchant's 8.5 % rate: the tax check finds nothing to hold.
LINES = [
    {"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.99", "discount": "0.00", "tax": "3.40"},
    {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "24.00", "discount": "0.00", "tax": "2.04"},
    {"sku": "MUG-WHITE", "quantity": 1, "unit_price": "12.50", "discount": "0.00", "tax": "1.06"},
]


@pytest.fixture
def merchant(api, monkeypatch, settings):
    """A merchant set up as in production: its settings rows, a deny list and the tax rate its
    orders declare. Nothing moves an order after its 201 (the pipeline's worker has not picked
    it up yet), and the caches' once-a-second version check stays out of the counts."""
    FraudSettingsFactory(merchant=api.merchant)
    TaxSettingsFactory(merchant=api.merchant)
    MerchantPaymentSettingsFactory(merchant=api.merchant)
    DenyListEntryFactory(merchant=api.merchant, kind="email", value="chargeback@example.com")
    TaxRateFactory(merchant=api.merchant, region="", rate=Decimal("0.085"), shipping_taxable=False)
    ProductFactory(merchant=api.merchant, sku="MUG-WHITE", name="White mug")
    monkeypatch.setattr(outbox, "enqueue_now", lambda task, *args, **kwargs: True)
    settings.OMS_CACHE_CHECK_SECONDS = 3600
    return api


def order_body(external_id: str, *, lines: int = 1, email: str = "ana@example.com", **changes: Any) -> dict[str, Any]:
    chosen = LINES[:lines]
    total = sum(
        (Decimal(li["unit_price"]) * li["quantity"] - Decimal(li["discount"]) + Decimal(li["tax"]) for li in chosen),
        Decimal("5.00"),
    )
    body = payloads.order(external_id=external_id, lines=chosen, total=str(total), **changes)
    body["customer"] = {**body["customer"], "email": email}
    if body.get("payment"):
        body["payment"] = {**body["payment"], "amount": str(total)}
    return body


def post(api, body):
    return api.client.post("/api/v1/orders/", body, format="json")


@pytest.mark.parametrize("lines", [1, 3])
@pytest.mark.parametrize("customer", ["returning", "new"])
def test_a_capture_costs_at_most_15_statements_whatever_its_size_or_customer(merchant, lines, customer):
    assert post(merchant, order_body("WARM-UP")).status_code == 201  # this process loads its caches
    email = "ana@example.com" if customer == "returning" else "first.time@example.com"
    with CaptureQueriesContext(connection) as ctx:
        response = post(merchant, order_body("COUNTED", lines=lines, email=email))
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "validated"
    assert response.json()["fraud"]["outcome"] == "approve"
    assert len(ctx) <= CAPTURE_STATEMENTS, "\n".join(q["sql"][:120] for q in ctx.captured_queries)


def test_a_repeat_of_the_same_body_answers_200_within_the_same_bound(merchant):
    body = order_body("REPEATED")
    first = post(merchant, body)
    with CaptureQueriesContext(connection) as ctx:
        again = post(merchant, body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == merchant.client.get(f"/api/v1/orders/{first.json()['number']}/").json()
    assert len(ctx) <= CAPTURE_STATEMENTS


def _split_tender(external_id: str) -> dict[str, Any]:
    body = order_body(
        external_id,
        lines=3,
        placed_at="2026-11-20T16:03:00.123456+02:00",
        notes="Leave at the door",
        promise_date="2026-11-25",
    )
    body["lines"][0] = {**body["lines"][0], "bundle": "GIFT-SET"}
    total = Decimal(body["total"])
    body.pop("payment")
    body["payments"] = [
        {"transaction_type": "capture", "gateway": "sandbox", "token": "tok_visa_ok_gift", "amount": "20.00"},
        {"transaction_type": "authorize", "gateway": "sandbox", "token": "tok_visa_ok", "amount": str(total - 20)},
    ]
    return body


def _pickup(external_id: str, api) -> dict[str, Any]:
    body = order_body(external_id, fulfillment={"type": "pickup", "location": api.store.code}, billing_address=None)
    body["shipping"] = {"service_level": "pickup", "price": "5.00", "tax": "0.00"}
    del body["shipping_address"]
    return body


def _po_box_express(external_id: str) -> dict[str, Any]:
    body = order_body(external_id, shipping={"service_level": "express", "price": "5.00", "tax": "0.00"})
    body["shipping_address"] = {**body["shipping_address"], "line1": "PO Box 42"}
    return body


@pytest.mark.parametrize(
    "case", ["authorize", "split tender, bundle, notes, offset time", "pickup", "fraud screening off", "held"]
)
def test_the_201_is_the_get_of_the_same_order(merchant, case):
    """Rendered from the rows the capture just wrote (no line, payment or timeline is read back),
    the body is the one a GET of the order answers; an order that a hold stopped (the uncommon
    case) is read back, and answers the same."""
    body = {
        "authorize": lambda: order_body("SAME-1"),
        "split tender, bundle, notes, offset time": lambda: _split_tender("SAME-2"),
        "pickup": lambda: _pickup("SAME-3", merchant),
        "fraud screening off": lambda: order_body("SAME-4"),
        "held": lambda: _po_box_express("SAME-5"),
    }[case]()
    if case == "fraud screening off":
        FraudSettings.objects.filter(merchant=merchant.merchant).delete()
        FraudSettingsFactory(merchant=merchant.merchant, enabled=False)
    with CaptureQueriesContext(connection) as ctx:
        created = post(merchant, body)
    assert created.status_code == 201, created.json()
    read_back = any('FROM "orders_orderline"' in q["sql"] for q in ctx.captured_queries)
    assert read_back == (case == "held")
    got = merchant.client.get(f"/api/v1/orders/{created.json()['number']}/")
    assert got.status_code == 200
    assert created.json() == got.json()
    assert created.json()["status"] == ("on_hold" if case == "held" else "validated")
