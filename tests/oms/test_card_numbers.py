"""Card numbers never get in, through any endpoint or admin form: refused with a 400 (or a form
error) naming the field. After every test here, neither the database nor the logs hold any of
these card numbers, in any separator form."""

from __future__ import annotations

import logging
import re

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core import serializers
from django.db import connection
from django.urls import reverse

from oms.card_numbers import contains_card_number, is_card_number
from oms.permissions import CSR
from orders.models import Order
from tests.factories import OpsExceptionFactory, UserFactory
from tests.payments.helpers import body, payment

pytestmark = pytest.mark.django_db

PAN = "4111111111111111"
MASTERCARD = "5555555555554444"
AMEX = "378282246310005"
DISCOVER = "6011111111111117"
CARDS = (PAN, MASTERCARD, AMEX, DISCOVER, "4012888888881881")
# Every way a person types a card number into a text box.
SEPARATED = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111.1111.1111.1111",
    "4111/1111/1111/1111",
    "4111_1111_1111_1111",
    "4111  1111  1111  1111",
    "4111 - 1111 - 1111 - 1111",
    "4111.1111-1111 1111",
    "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
    "3782 822463 10005",
]


def database_text() -> str:
    """Every row of every table, as text."""
    tables = set(connection.introspection.table_names())
    return "".join(
        serializers.serialize("json", model.objects.all())
        for model in apps.get_models()
        if model._meta.db_table in tables
    )


def digits_joined(text: str) -> str:
    """Text with the separators between digits taken out, so any separator form is found."""
    return re.sub(r"(?<=\d)[\s./_\\-]+(?=\d)", "", text)


@pytest.fixture(autouse=True)
def _leaves_no_card_number(caplog):
    caplog.set_level(logging.DEBUG)
    yield
    for place, text in (("database", database_text()), ("logs", caplog.text)):
        joined = digits_joined(text)
        for card in CARDS:
            assert card not in joined, f"card number {card} found in the {place}"


def refused(response, field):
    assert response.status_code == 400, response.content
    assert (field, "card_number") in [(e["field"], e["code"]) for e in response.json()["errors"]]
    for card in CARDS:
        assert card not in digits_joined(response.content.decode())


def with_field(path: str, value):
    data = body()
    node = data
    parts = path.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    node[parts[-1]] = value
    return data


NOTES = [f"card {s} exp 12/29 cvv 123" for s in SEPARATED] + [PAN, f"call +1 415 555 0134 {SEPARATED[0]}"]


@pytest.mark.parametrize("value", NOTES)
def test_it_refuses_a_card_number_in_notes_in_any_separator_form(api, value):
    refused(api.client.post("/api/v1/orders/", with_field("notes", value), format="json"), "notes")
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("customer.first_name", PAN),
        ("shipping_address.line2", f"Apt {AMEX}"),
        ("billing_address.line1", "4111-1111-1111-1111"),
        ("payment.token", PAN),
        ("external_id", PAN),
        ("external_id", "4111 1111 1111 1111"),
        ("lines.0.bundle", PAN),
    ],
)
def test_it_refuses_a_card_number_in_names_addresses_tokens_and_identifiers(api, path, value):
    field = path.replace(".0.", "[0].")
    refused(api.client.post("/api/v1/orders/", with_field(path, value), format="json"), field)


def test_it_refuses_a_card_number_sent_as_a_json_number(api):
    data = body(payment=payment())
    data["payment"]["token"] = int(PAN)
    refused(api.client.post("/api/v1/orders/", data, format="json"), "payment.token")


def test_identifiers_with_their_own_shape_pass_even_when_their_digits_pass_luhn(api):
    """An Amazon-style id (3-7-7 digits) passes Luhn one time in ten; it is not a card number."""
    for external_id in ("113-4111111-1111110", "W-5105105105105100-X"):
        response = api.client.post("/api/v1/orders/", body(external_id=external_id), format="json")
        assert response.status_code == 201, response.json()


def test_it_accepts_digit_runs_that_are_not_card_numbers(api):
    response = api.client.post(
        "/api/v1/orders/", body(notes="Gate code 4111111111111112, call +1 415 555 0134"), format="json"
    )
    assert response.status_code == 201, response.json()


def test_barcodes_are_exempt_even_when_they_pass_luhn(api):
    ean = "5901234123457"  # a real EAN-13, also Luhn-valid
    assert is_card_number(ean)
    response = api.client.post("/api/v1/products/", {"sku": "PEN-1", "name": "Pen", "barcode": ean}, format="json")
    assert response.status_code == 201, response.json()


def test_every_endpoints_free_text_refuses_a_card_number(api):
    number = api.client.post("/api/v1/orders/", body(), format="json").json()["number"]
    order = f"/api/v1/orders/{number}/"
    calls = [
        ("/api/v1/products/", {"sku": "X-1", "name": f"Gift {SEPARATED[2]}"}, "name"),
        ("/api/v1/products/bulk/", {"items": [{"sku": "X-2", "name": SEPARATED[3]}]}, "items[0].name"),
        ("/api/v1/webhooks/", {"url": "https://hooks.acme.example/", "event_types": ["order.*"],
                               "description": f"card {SEPARATED[4]}"}, "description"),
        (order + "cancel/", {"reason": f"customer sent {SEPARATED[5]}"}, "reason"),
        (order + "refunds/", {"amount": "1.00", "reason": f"to {PAN}"}, "reason"),
        (order + "payments/", {"token": PAN}, "token"),
    ]  # fmt: skip
    for url, data, field in calls:
        refused(api.client.post(url, data, format="json", HTTP_IDEMPOTENCY_KEY=url), field)
    refused(api.client.patch(order, {"notes": SEPARATED[6]}, format="json"), "notes")


def test_a_csr_note_in_the_admin_refuses_a_card_number(client):
    csr = UserFactory(username="csr-cards", is_staff=True)
    csr.groups.add(Group.objects.get(name=CSR))
    client.force_login(csr)
    alert = OpsExceptionFactory()
    url = reverse("admin:oms_opsexception_change", args=[alert.pk])
    response = client.post(url, {"severity": alert.severity, "status": alert.status, "notes": f"card {SEPARATED[1]}"})
    assert response.status_code == 200  # the form again, with the error
    assert "Looks like a card number" in response.content.decode()
    alert.refresh_from_db()
    assert alert.notes == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        *((card, True) for card in CARDS),
        *((f"x {s} y", True) for s in SEPARATED),
        ("4111111111111112", False),  # fails the Luhn check
        ("411111111111", False),  # 12 digits
        ("41111111111111111111", False),  # 20 digits
        ("order 4012888888881881 please", True),
        ("2026-12-01 10:00, +1 415 555 0134", False),
    ],
)
def test_the_detector(text, expected):
    assert contains_card_number(text) is expected
