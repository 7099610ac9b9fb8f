from __future__ import annotations

import pytest

from tests import payloads

pytestmark = pytest.mark.django_db


@pytest.fixture
def orders(api):
    def capture(external_id, **changes):
        response = api.client.post("/api/v1/orders/", payloads.order(external_id=external_id, **changes), format="json")
        assert response.status_code == 201, response.json()
        return response.json()["number"]

    held = payloads.order(shipping={"service_level": "express", "price": "5.00", "tax": "0.00"})
    held["shipping_address"]["line1"] = "PO Box 1"
    blue = payloads.order(total="45.38", lines=[{"sku": "TSHIRT-BLUE-M", "quantity": 2, "unit_price": "20.19"}])
    blue["payment"]["amount"] = "45.38"
    numbers = {
        "plain": capture("L-1"),
        "market": capture("L-2", channel="marketplace", placed_at="2026-10-01T00:00:00Z"),
        "other_email": capture("L-3", customer={"email": "bob@example.com"}),
        "held": capture("L-4", **{k: v for k, v in held.items() if k != "external_id"}),
        "blue": capture("L-5", **{k: v for k, v in blue.items() if k != "external_id"}),
    }
    return numbers


def listed(api, query):
    response = api.client.get(f"/api/v1/orders/?{query}")
    assert response.status_code == 200, response.json()
    return {o["number"] for o in response.json()["results"]}


def test_it_filters_orders(api, orders):
    assert listed(api, "channel=marketplace") == {orders["market"]}
    assert listed(api, "external_id=L-3") == {orders["other_email"]}
    assert listed(api, "email=BOB@example.com") == {orders["other_email"]}
    assert listed(api, "status=on_hold") == {orders["held"]}
    assert listed(api, "has_open_hold=true") == {orders["held"]}
    assert orders["held"] not in listed(api, "has_open_hold=false")
    assert listed(api, "sku=TSHIRT-BLUE-M") == {orders["blue"]}
    assert listed(api, "placed_before=2026-11-01T00:00:00Z") == {orders["market"]}
    assert orders["market"] not in listed(api, "placed_after=2026-11-01T00:00:00Z")
    assert len(listed(api, "status=validated&status=on_hold")) == 5


def test_it_paginates(api, orders):
    page = api.client.get("/api/v1/orders/?page_size=2").json()
    assert page["count"] == 5
    assert len(page["results"]) == 2
    assert page["next"]


def test_it_refuses_a_bad_filter_value_with_400(api, orders):
    response = api.client.get("/api/v1/orders/?status=teleported")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"


def test_it_lists_with_a_bounded_number_of_queries(api, orders, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        api.client.get("/api/v1/orders/?page_size=50")
