"""Request bodies for the order API, as a channel sends them."""

from __future__ import annotations

import copy
from typing import Any

ORDER: dict[str, Any] = {
    "channel": "web",
    "external_id": "W-100045",
    "placed_at": "2026-11-20T14:03:00Z",
    "currency": "USD",
    "customer": {"email": "ana@example.com", "phone": "+1 415 555 0134", "first_name": "Ana", "last_name": "Silva"},
    "shipping_address": {
        "first_name": "Ana", "last_name": "Silva", "line1": "1 Market St", "line2": "Apt 5",
        "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US",
    },
    "billing_address": {
        "first_name": "Ana", "last_name": "Silva", "line1": "1 Market St", "line2": "Apt 5",
        "city": "San Francisco", "region": "CA", "postal_code": "94105", "country": "US",
    },
    "lines": [{"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.99", "discount": "0.00", "tax": "3.40"}],
    "shipping": {"service_level": "standard", "price": "5.00", "tax": "0.00"},
    "fulfillment": {"type": "ship"},
    "payment": {"transaction_type": "authorize", "gateway": "sandbox", "token": "tok_visa_ok", "amount": "48.38"},
    "total": "48.38",
}  # fmt: skip


def order(**changes: Any) -> dict[str, Any]:
    """A valid order body; keyword arguments replace top-level fields."""
    body = copy.deepcopy(ORDER)
    body.update(changes)
    return body
