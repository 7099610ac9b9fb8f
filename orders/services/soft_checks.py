"""Problems that do not reject an order but need a person: they put it on hold."""

from __future__ import annotations

from orders.models import Order, ServiceLevel
from orders.validation import is_po_box

_NO_PO_BOX_LEVELS = {ServiceLevel.EXPRESS, ServiceLevel.NEXT_DAY}


def address_problems(order: Order) -> list[str]:
    """Return why the shipping address looks undeliverable for this order, if it does."""
    address = order.shipping_address
    if not address or order.fulfillment_type != "ship":
        return []
    if order.service_level in _NO_PO_BOX_LEVELS and is_po_box(address):
        return [
            f"PO boxes cannot receive {order.get_service_level_display().lower()} deliveries; "
            "ask the customer for a street address or change the service level."
        ]
    return []
