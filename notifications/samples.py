"""Sample data for the admin preview of every message (and the render tests)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from notifications.messages import MESSAGES, Message, money

_LINES = [
    {"sku": "TSHIRT-RED-M", "name": "Red T-shirt M", "quantity": 2, "unit_price": "19.99", "total": "42.38"},
    {"sku": "MUG-BLUE", "name": "Blue mug", "quantity": 1, "unit_price": "12.00", "total": "12.00"},
]


def sample_order(*, pickup: bool = False) -> dict[str, Any]:
    lines = [
        {**line, "unit_price": money(line["unit_price"], "USD"), "total": money(line["total"], "USD"), "cancelled": 0}
        for line in _LINES
    ]
    return {
        "id": 0,
        "number": "DEMO-000123",
        "placed_at": datetime(2026, 11, 20, 14, 3, tzinfo=timezone.get_current_timezone()),
        "currency": "USD",
        "customer_name": "Ana Silva",
        "first_name": "Ana",
        "email": "ana@example.com",
        "lines": lines,
        "shipping": money("5.00", "USD"),
        "total": money("59.38", "USD"),
        "shipping_address": ["Ana Silva", "1 Market St", "Apt 5", "San Francisco CA 94105", "US"],
        "fulfillment_type": "pickup" if pickup else "ship",
        "pickup": {"name": "Downtown store", "address": ["200 Main St", "San Francisco CA"]} if pickup else None,
        "status_url": "https://shop.example.com/orders/DEMO-000123",
    }


_SHIPMENT = {
    "number": "SHP-0042",
    "carrier": "UPS",
    "service": "Ground",
    "tracking_number": "1Z999AA10123456784",
    "tracking_url": "https://www.ups.com/track?tracknum=1Z999AA10123456784",
    "items": [{"sku": "TSHIRT-RED-M", "name": "Red T-shirt M", "quantity": 2}],
    "estimated_delivery": "Tuesday, November 24",
}


def sample_context(message: Message) -> dict[str, Any]:
    """The context `message` renders with in the preview (without branding)."""
    order = sample_order(pickup=message.key == "ready_for_pickup")
    context: dict[str, Any] = {"order": order}
    if message.key in ("shipping_notification", "out_for_delivery", "delivered"):
        context["shipment"] = dict(_SHIPMENT)
    elif message.key in ("partial_cancellation", "cancellation"):
        items = [{"sku": "MUG-BLUE", "name": "Blue mug", "quantity": 1}]
        context["cancellation"] = {
            "reason": "Out of stock",
            "items": items if message.key.startswith("partial") else [],
        }
    elif message.key in ("refund_issued", "appeasement"):
        reason = "Late delivery" if message.key == "appeasement" else "Returned item"
        context["refund"] = {"amount_display": money("12.00", "USD"), "reason": reason, "items": []}
    elif message.key in ("return_authorized", "return_received"):
        context["rma"] = {
            "number": "RMA-000045",
            "instructions": "Pack the item in its original box and drop it at any UPS point.",
            "label_url": "https://shop.example.com/returns/RMA-000045/label.pdf",
            "address": ["Returns dept.", "1 Warehouse Way", "Reno NV 89501", "US"],
            "items": [{"sku": "TSHIRT-RED-M", "name": "Red T-shirt M", "quantity": 1}],
        }
    elif message.key == "ready_for_pickup":
        context["pickup_code"] = "PK-4821"
    return context


def sample_keys() -> list[str]:
    return list(MESSAGES)
