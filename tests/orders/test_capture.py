from __future__ import annotations

import pytest

from oms.models import OpsException, OutboxEvent
from orders.models import Order
from tests import payloads

pytestmark = pytest.mark.django_db


def post(api, body, **headers):
    return api.client.post("/api/v1/orders/", body, format="json", **headers)


def errors(response):
    return {(e["field"], e["code"]) for e in response.json()["errors"]}


def test_it_captures_a_valid_order_as_validated(api):
    response = post(api, payloads.order())
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "validated"
    assert data["number"] == "ACME-000001"
    assert data["customer"]["phone"] == "+14155550134"
    assert data["shipping_address"]["postal_code"] == "94105"
    payment = data["payments"][0]
    assert (payment["gateway"], payment["transaction_type"], payment["amount"], payment["currency"]) == (
        "sandbox", "authorize", "48.38", "USD"
    )  # fmt: skip
    assert data["lines"][0]["quantities"]["ordered"] == 2
    assert [(e["name"], e["to_status"]) for e in data["timeline"]][:2] == [
        ("receive", "received"),
        ("validate", "validated"),
    ]
    assert {"order.received", "order.validated"} <= set(OutboxEvent.objects.values_list("type", flat=True))


def test_it_numbers_orders_per_merchant_in_sequence(api, other_api):
    first = post(api, payloads.order(external_id="A-1")).json()["number"]
    second = post(api, payloads.order(external_id="A-2")).json()["number"]
    rival = post(other_api, payloads.order(external_id="A-1")).json()["number"]
    assert (first, second, rival) == ("ACME-000001", "ACME-000002", "RIVAL-000001")


def test_it_accepts_split_tender_and_shows_payments_as_a_list(api):
    body = payloads.order(
        payment=None,
        payments=[
            {"transaction_type": "capture", "gateway": "sandbox", "token": "tok_visa_ok_giftcard", "amount": "20.00"},
            {"transaction_type": "authorize", "gateway": "sandbox", "token": "tok_visa_ok", "amount": "28.38"},
        ],
    )
    del body["payment"]
    response = post(api, body)
    assert response.status_code == 201, response.json()
    assert [p["amount"] for p in response.json()["payments"]] == ["20.00", "28.38"]


def test_it_captures_a_pickup_order_at_a_store(api):
    body = payloads.order(
        fulfillment={"type": "pickup", "location": api.store.code},
        shipping={"service_level": "pickup", "price": "0.00", "tax": "0.00"},
        payment={"transaction_type": "capture", "gateway": "sandbox", "token": "tok_visa_ok", "amount": "43.38"},
        total="43.38",
    )
    del body["shipping_address"]
    response = post(api, body)
    assert response.status_code == 201, response.json()
    assert response.json()["fulfillment"] == {"type": "pickup", "location": api.store.code}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"customer": {"email": "not-an-email"}}, "customer.email", "invalid"),
        ({"customer": {"email": "a@example.com", "phone": "+1 415 555"}}, "customer.phone", "invalid"),
        ({"customer": {"email": "a@example.com", "phone": "banana"}}, "customer.phone", "invalid"),
        ({"currency": "XYZ"}, "currency", "invalid"),
        ({"total": "48.39"}, "total", "mismatch"),
        ({"total": "-1.00"}, "total", "min_value"),
        ({"total": "48.375"}, "total", "precision"),
        ({"placed_at": "yesterday"}, "placed_at", "invalid"),
        ({"channel": "fax"}, "channel", "invalid"),
        ({"external_id": 123}, "external_id", "invalid"),
        ({"lines": []}, "lines", "empty"),
        ({"shipping": {"service_level": "teleport"}}, "shipping.service_level", "invalid_choice"),
        ({"fulfillment": {"type": "pickup"}}, "fulfillment.location", "required"),
        ({"fulfillment": {"type": "pickup", "location": "NOPE"},
          "shipping": {"service_level": "pickup", "price": "5.00"}}, "fulfillment.location", "invalid"),
        ({"shipping_address": None}, "shipping_address", "required"),
        ({"color": "red"}, "color", "unknown_field"),
        ({"payment": {"transaction_type": "steal", "gateway": "sandbox", "token": "t", "amount": "48.38"}},
         "payment.transaction_type", "invalid_choice"),
        ({"payment": {"transaction_type": "capture", "gateway": "sandbox", "token": "t", "amount": "40.00"}},
         "payment", "mismatch"),
        ({"payment": None}, "payment", "null"),
    ],
)  # fmt: skip
def test_it_refuses_invalid_fields_naming_each(api, change, field, code):
    response = post(api, payloads.order(**change))
    assert response.status_code == 400
    assert (field, code) in errors(response), response.json()
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("address_change", "field"),
    [
        ({"postal_code": "9410"}, "shipping_address.postal_code"),
        ({"region": "ZZ"}, "shipping_address.region"),
        ({"city": ""}, "shipping_address.city"),
        ({"country": "XX"}, "shipping_address.country"),
        ({"line1": ""}, "shipping_address.line1"),
        ({"planet": "Mars"}, "shipping_address.planet"),
    ],
)
def test_it_validates_addresses_per_country(api, address_change, field):
    body = payloads.order()
    body["shipping_address"].update(address_change)
    response = post(api, body)
    assert response.status_code == 400
    assert field in {f for f, _ in errors(response)}, response.json()


def test_it_normalises_addresses_of_other_countries(api):
    body = payloads.order()
    body["shipping_address"] = {"first_name": "Ana", "last_name": "Silva", "line1": "10 Downing St",
                                "city": "London", "postal_code": "sw1a 2aa", "country": "GB"}  # fmt: skip
    response = post(api, body)
    assert response.status_code == 201, response.json()
    assert response.json()["shipping_address"]["postal_code"] == "SW1A 2AA"


@pytest.mark.parametrize(
    ("line_change", "field", "code"),
    [
        ({"sku": "NOPE"}, "lines[0].sku", "unknown_sku"),
        ({"quantity": 0}, "lines[0].quantity", "min_value"),
        ({"quantity": 1.5}, "lines[0].quantity", "invalid"),
        ({"quantity": "2"}, "lines[0].quantity", "invalid"),
        ({"unit_price": "-1"}, "lines[0].unit_price", "min_value"),
        ({"unit_price": "abc"}, "lines[0].unit_price", "invalid"),
        ({"tax": "3.401"}, "lines[0].tax", "precision"),
        ({"gift_wrap": True}, "lines[0].gift_wrap", "unknown_field"),
    ],
)
def test_it_validates_lines(api, line_change, field, code):
    body = payloads.order()
    body["lines"][0].update(line_change)
    response = post(api, body)
    assert response.status_code == 400
    assert (field, code) in errors(response), response.json()


def test_it_refuses_skus_of_another_merchant_and_inactive_ones(api, other_api):
    from tests.factories import ProductFactory

    ProductFactory(merchant=other_api.merchant, sku="RIVAL-ONLY")
    api.blue.active = False
    api.blue.save()
    body = payloads.order()
    body["lines"] = [
        {"sku": "RIVAL-ONLY", "quantity": 1, "unit_price": "10.00"},
        {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "10.00"},
    ]
    body["total"] = body["payment"]["amount"] = "25.00"
    response = post(api, body)
    assert response.status_code == 400
    assert errors(response) == {("lines[0].sku", "unknown_sku"), ("lines[1].sku", "inactive_sku")}


def test_it_uses_the_currency_precision(api):
    body = payloads.order(currency="JPY", total="4838.5")
    body["lines"][0].update(unit_price="1999", tax="340")
    body["shipping"]["price"] = "500"
    response = post(api, body)
    assert response.status_code == 400
    assert ("total", "precision") in errors(response)


def test_it_answers_malformed_json_with_400(api):
    response = api.client.post("/api/v1/orders/", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "parse_error"


def test_it_holds_an_express_order_to_a_po_box_and_raises_an_exception(api):
    body = payloads.order(shipping={"service_level": "express", "price": "5.00", "tax": "0.00"})
    body["shipping_address"]["line1"] = "PO Box 42"
    response = post(api, body)
    assert response.status_code == 201
    data = response.json()
    assert data["status"] == "on_hold"
    assert [(h["type"], h["open"]) for h in data["holds"]] == [("address", True)]
    order = Order.objects.get(number=data["number"])
    assert OpsException.objects.filter(type="address_hold", subject_id=str(order.pk), status="open").count() == 1
    assert "order.on_hold" in set(OutboxEvent.objects.values_list("type", flat=True))
