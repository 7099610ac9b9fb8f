from __future__ import annotations

import pytest

from oms.models import OpsException, OutboxEvent
from orders.models import Order, OrderStatus
from tests import payloads
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def capture(api, **changes):
    response = api.client.post("/api/v1/orders/", payloads.order(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def cancel(api, number, body):
    return api.client.post(f"/api/v1/orders/{number}/cancel/", body, format="json")


def test_it_cancels_a_whole_order(api):
    order = capture(api)
    response = cancel(api, order["number"], {"reason": "Customer changed their mind"})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "cancelled"
    assert data["lines"][0]["quantities"]["cancelled"] == 2
    assert data["timeline"][-1]["name"] == "cancel"
    assert data["timeline"][-1]["reason"] == "Customer changed their mind"
    assert OutboxEvent.objects.filter(type="order.cancelled").count() == 1


def test_it_cancels_line_quantities_and_keeps_the_order_open(api):
    order = capture(api)
    line = order["lines"][0]["id"]
    response = cancel(api, order["number"], {"reason": "Out of red", "lines": [{"line": line, "quantity": 1}]})
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "validated"
    assert (data["lines"][0]["quantities"]["cancelled"], data["lines"][0]["quantities"]["open"]) == (1, 1)
    event = OutboxEvent.objects.get(type="order.partially_cancelled")
    assert event.payload["lines"] == [{"line": line, "sku": "TSHIRT-RED-M", "quantity": 1}]
    # cancelling the rest of the only line cancels the order
    assert (
        cancel(api, order["number"], {"reason": "gone", "lines": [{"line": line, "quantity": 1}]}).json()["status"]
        == "cancelled"
    )


def test_it_refuses_to_cancel_more_than_remains(api):
    order = capture(api)
    line = order["lines"][0]["id"]
    response = cancel(api, order["number"], {"reason": "x", "lines": [{"line": line, "quantity": 3}]})
    assert response.status_code == 409
    assert "2 unit(s) left" in response.json()["errors"][0]["message"]


def test_it_refuses_an_unknown_line_with_400(api):
    order = capture(api)
    response = cancel(api, order["number"], {"reason": "x", "lines": [{"line": 999999, "quantity": 1}]})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines[0].line"


def test_it_refuses_to_cancel_a_cancelled_order_naming_its_state(api):
    order = capture(api)
    cancel(api, order["number"], {"reason": "x"})
    response = cancel(api, order["number"], {"reason": "again"})
    assert response.status_code == 409
    assert "cancelled" in response.json()["errors"][0]["message"]


def test_it_refuses_to_cancel_a_shipped_order(api):
    order = OrderFactory(merchant=api.merchant, channel=api.web, status=OrderStatus.SHIPPED)
    OrderLineFactory(order=order, product=api.red, qty_shipped=2)
    response = cancel(api, order.number, {"reason": "too late"})
    assert response.status_code == 409
    assert "shipped" in response.json()["errors"][0]["message"]


def test_it_cancels_only_unshipped_units_of_a_partially_shipped_order(api):
    order = OrderFactory(merchant=api.merchant, channel=api.web, status=OrderStatus.PARTIALLY_SHIPPED)
    line = OrderLineFactory(order=order, product=api.red, quantity=3, qty_shipped=1)
    assert cancel(api, order.number, {"reason": "x", "lines": [{"line": line.pk, "quantity": 3}]}).status_code == 409
    response = cancel(api, order.number, {"reason": "x", "lines": [{"line": line.pk, "quantity": 2}]})
    assert response.status_code == 200
    assert response.json()["lines"][0]["quantities"]["open"] == 0
    # Nothing more to wait for: the header follows its lines.
    assert response.json()["status"] == "shipped"
    assert OutboxEvent.objects.filter(type="order.shipped").count() == 1


def test_it_closes_holds_and_their_exceptions_when_a_held_order_is_cancelled(api):
    body = payloads.order(shipping={"service_level": "express", "price": "5.00", "tax": "0.00"})
    body["shipping_address"]["line1"] = "PO Box 42"
    order = api.client.post("/api/v1/orders/", body, format="json").json()
    response = cancel(api, order["number"], {"reason": "customer gave up"})
    assert response.json()["status"] == "cancelled"
    assert response.json()["holds"][0]["open"] is False
    assert not OpsException.objects.filter(status__in=["open", "in_progress"]).exists()
    assert Order.objects.get(number=order["number"]).status_before_hold == ""


def test_it_requires_a_reason(api):
    order = capture(api)
    response = cancel(api, order["number"], {})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reason"
