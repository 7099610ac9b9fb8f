from __future__ import annotations

import pytest

from orders.models import Order
from tests import payloads


@pytest.fixture
def held_order(api):
    """An order on an address hold: express shipping to a PO box."""
    body = payloads.order(shipping={"service_level": "express", "price": "5.00", "tax": "0.00"})
    body["shipping_address"]["line1"] = "PO Box 42"
    response = api.client.post("/api/v1/orders/", body, format="json")
    return Order.objects.get(number=response.json()["number"])
