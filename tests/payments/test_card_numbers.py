"""Card numbers never get in: refused with a 400 naming the field, absent from the database and
the logs. Identifier fields are exempt (about one EAN-13 in ten passes the Luhn check)."""

from __future__ import annotations

import logging

import pytest
from django.apps import apps
from django.core import serializers
from django.db import connection

from orders.api.inputs import contains_card_number
from orders.models import Order
from tests.payments.helpers import body, payment

pytestmark = pytest.mark.django_db

PAN = "4111111111111111"
PAN_SPACED = "4111 1111 1111 1111"
AMEX = "378282246310005"


def database_text() -> str:
    """Every row of every table, as text."""
    tables = set(connection.introspection.table_names())
    return "".join(
        serializers.serialize("json", model.objects.all())
        for model in apps.get_models()
        if model._meta.db_table in tables
    )


def with_field(path: str, value: str):
    data = body()
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("notes", f"card {PAN_SPACED} exp 12/29 cvv 123"),
        ("customer.first_name", PAN),
        ("shipping_address.line2", f"Apt {AMEX}"),
        ("billing_address.line1", "4111-1111-1111-1111"),
        ("payment.token", PAN),
    ],
)
def test_it_refuses_a_card_number_in_a_free_text_or_payment_field(api, caplog, path, value):
    caplog.set_level(logging.DEBUG)
    response = api.client.post("/api/v1/orders/", with_field(path, value), format="json")
    assert response.status_code == 400
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == (path, "card_number")
    digits = value.replace(" ", "").replace("-", "")
    assert Order.objects.count() == 0
    text = database_text()
    for needle in (value, digits, digits[-8:]):
        assert needle not in text
        assert needle not in caplog.text
        assert needle not in response.content.decode()


def test_it_refuses_a_card_number_sent_as_a_json_number(api):
    data = body(payment=payment())
    data["payment"]["token"] = int(PAN)
    response = api.client.post("/api/v1/orders/", data, format="json")
    assert response.json()["errors"][0]["field"] == "payment.token"


def test_it_accepts_identifier_fields_that_happen_to_pass_luhn(api):
    response = api.client.post("/api/v1/orders/", body(external_id=PAN), format="json")
    assert response.status_code == 201, response.json()


def test_it_accepts_digit_runs_that_are_not_card_numbers(api):
    response = api.client.post(
        "/api/v1/orders/", body(notes="Gate code 4111111111111112, call +1 415 555 0134"), format="json"
    )
    assert response.status_code == 201, response.json()


def test_it_refuses_a_card_number_in_a_refund_reason_and_a_new_token(api):
    number = api.client.post("/api/v1/orders/", body(), format="json").json()["number"]
    refund = api.client.post(
        f"/api/v1/orders/{number}/refunds/", {"amount": "1.00", "reason": f"to {PAN}"}, format="json"
    )
    assert refund.json()["errors"][0]["field"] == "reason"
    token = api.client.post(f"/api/v1/orders/{number}/payments/", {"token": PAN}, format="json")
    assert (token.status_code, token.json()["errors"][0]["field"]) == (400, "token")
    assert PAN not in database_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PAN, True),
        ("5555555555554444", True),
        ("6011111111111117", True),
        (AMEX, True),
        ("4111111111111112", False),  # fails the Luhn check
        ("411111111111", False),  # 12 digits
        ("41111111111111111111", False),  # 20 digits
        ("order 4012888888881881 please", True),
    ],
)
def test_the_detector(text, expected):
    assert contains_card_number(text) is expected
