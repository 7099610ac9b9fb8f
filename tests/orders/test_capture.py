from __future__ import annotations

import pytest

from oms.models import OutboxEvent
from tests import payloads


def post(api, body, **headers):
    return api.client.post("/api/v1/orders/", body, format="json", **headers)


@pytest.mark.django_db
def test_it_captures_a_valid_order_as_validated(api):
    response = post(api, payloads.order())
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["status"] == "validated"
    assert data["number"] == "ACME-000001"
    assert data["customer"]["phone"] == "+14155550134"
    assert data["shipping_address"]["postal_code"] == "94105"
    assert data["payments"][0]["amount"] == "48.38"
    assert data["lines"][0]["quantities"]["ordered"] == 2
    assert [e["name"] for e in data["timeline"]] == ["receive", "validate"]
    types = set(OutboxEvent.objects.values_list("type", flat=True))
    assert {"order.received", "order.validated"} <= types
