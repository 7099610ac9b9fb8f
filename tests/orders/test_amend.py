from __future__ import annotations

from decimal import Decimal

import pytest

from oms.models import OpsException, OutboxEvent
from orders.models import OrderStatus, Payment
from tests import payloads
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def capture(api, body=None):
    response = api.client.post("/api/v1/orders/", body or payloads.order(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def amend(api, number, body):
    return api.client.patch(f"/api/v1/orders/{number}/", body, format="json")


def po_box_express_order():
    body = payloads.order(shipping={"service_level": "express", "price": "5.00", "tax": "0.00"})
    body["shipping_address"]["line1"] = "PO Box 42"
    return body


def test_it_amends_contact_and_address_with_the_same_validation_as_capture(api):
    order = capture(api)
    address = {**payloads.ORDER["shipping_address"], "line1": "2 Market St", "postal_code": "94105"}
    response = amend(api, order["number"], {"customer": {"phone": "(415) 555-0199"}, "shipping_address": address})
    assert response.status_code == 200, response.json()
    data = response.json()
    assert data["customer"]["phone"] == "+14155550199"
    assert data["shipping_address"]["line1"] == "2 Market St"
    event = OutboxEvent.objects.get(type="order.amended")
    assert sorted(event.payload["fields"]) == ["customer.phone", "shipping_address"]
    assert data["timeline"][-1]["name"] == "amend"


def test_it_refuses_an_invalid_amendment_naming_the_field(api):
    order = capture(api)
    address = {**payloads.ORDER["shipping_address"], "postal_code": "ABCDE"}
    response = amend(api, order["number"], {"shipping_address": address, "mood": "happy"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"shipping_address.postal_code", "mood"}


def test_an_address_fix_resolves_the_address_hold_and_resumes_the_order(api):
    order = capture(api, po_box_express_order())
    assert order["status"] == "on_hold"
    response = amend(api, order["number"], {"shipping_address": payloads.ORDER["shipping_address"]})
    data = response.json()
    assert data["status"] == "validated"
    assert data["holds"][0]["open"] is False
    assert data["holds"][0]["resolution_note"] == "Fixed by amendment"
    assert not OpsException.objects.filter(type="address_hold", status="open").exists()
    assert OutboxEvent.objects.filter(type="order.hold_resolved").count() == 1


def test_changing_to_a_service_level_that_cannot_reach_a_po_box_places_a_hold(api):
    body = payloads.order()
    body["shipping_address"]["line1"] = "PO Box 42"
    order = capture(api, body)
    assert order["status"] == "validated"
    response = amend(api, order["number"], {"shipping": {"service_level": "next_day"}})
    assert response.json()["status"] == "on_hold"
    assert response.json()["holds"][0]["type"] == "address"


def test_it_switches_an_order_to_pickup_at_a_store(api):
    order = capture(api)
    response = amend(
        api,
        order["number"],
        {"fulfillment": {"type": "pickup", "location": api.store.code}, "shipping": {"service_level": "pickup"}},
    )
    assert response.status_code == 200, response.json()
    assert response.json()["fulfillment"] == {"type": "pickup", "location": api.store.code}
    mismatch = amend(api, order["number"], {"shipping": {"service_level": "express"}})
    assert mismatch.status_code == 400
    assert mismatch.json()["errors"][0]["field"] == "shipping.service_level"


def test_reducing_a_quantity_is_a_partial_cancel_and_increasing_it_is_paid(api, django_capture_on_commit_callbacks):
    order = capture(api)
    line = order["lines"][0]["id"]
    less = amend(api, order["number"], {"lines": [{"line": line, "quantity": 1}]})
    assert less.json()["lines"][0]["quantities"]["cancelled"] == 1
    assert OutboxEvent.objects.filter(type="order.partially_cancelled").count() == 1
    with django_capture_on_commit_callbacks(execute=True):  # the authorization is sent after commit
        more = amend(api, order["number"], {"lines": [{"line": line, "quantity": 3}]})
    assert more.status_code == 200, more.json()
    assert more.json()["lines"][0]["quantities"]["ordered"] == 4
    increase = Payment.objects.filter(order__number=order["number"]).order_by("pk").last()
    # Two more units at 19.99 with the line's declared tax (3.40 for two): one new authorization.
    assert (increase.status, increase.authorized_amount) == ("authorized", Decimal("43.38"))


def test_a_new_line_needs_a_known_sku_and_its_price(api):
    order = capture(api)
    unknown = amend(api, order["number"], {"lines": [{"sku": "NOPE", "quantity": 1, "unit_price": "5.00"}]})
    assert (unknown.status_code, unknown.json()["errors"][0]["code"]) == (400, "unknown_sku")
    unpriced = amend(api, order["number"], {"lines": [{"sku": "TSHIRT-BLUE-M", "quantity": 1}]})
    assert unpriced.status_code == 400
    added = amend(api, order["number"], {"lines": [{"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "19.99"}]})
    assert added.status_code == 200, added.json()
    assert [line["sku"] for line in added.json()["lines"]] == ["TSHIRT-RED-M", "TSHIRT-BLUE-M"]


def test_it_refuses_amendments_after_release_with_409(api):
    order = OrderFactory(merchant=api.merchant, channel=api.web, status=OrderStatus.RELEASED)
    OrderLineFactory(order=order, product=api.red)
    response = amend(api, order.number, {"notes": "ring twice"})
    assert response.status_code == 409
    assert "released" in response.json()["errors"][0]["message"]
