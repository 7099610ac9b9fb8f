"""Replacement orders (exchanges, free replacements of claims): real orders, captured through
the order capture service so that payment, routing and fulfilment treat them like any order."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from oms.actors import Actor
from oms.idempotency import request_fingerprint
from orders.models import Order
from orders.services.capture import order_capture
from orders.services.timeline import record


def replacement_capture(
    *, original: Order, external_id: str, lines: list[dict[str, Any]], payments: list[dict[str, Any]], note: str,
    actor: Actor,
) -> Order:  # fmt: skip
    """Capture the replacement order, linked to the original by its note and both timelines.

    Idempotent by external id: asking again (a retry) returns the same order.
    """
    total = sum((Decimal(line["unit_price"]) * line["quantity"] for line in lines), Decimal(0))
    data: dict[str, Any] = {
        "channel": original.channel.code,
        "external_id": external_id,
        "placed_at": timezone.now(),
        "currency": original.currency,
        "customer": {"email": original.email, "phone": original.phone, "first_name": original.first_name,
                     "last_name": original.last_name},
        "shipping_address": original.shipping_address,
        "billing_address": original.billing_address,
        "shipping": {"service_level": original.service_level, "price": Decimal(0), "tax": Decimal(0)},
        "fulfillment": {"type": original.fulfillment_type,
                        **({"location": original.pickup_node.code} if original.pickup_node else {})},
        "lines": [{"sku": line["sku"], "quantity": line["quantity"], "unit_price": Decimal(line["unit_price"]),
                   "discount": Decimal(0), "tax": Decimal(0)} for line in lines],
        "payments": payments,
        "total": total,
        "notes": note,
    }  # fmt: skip
    # The fingerprint leaves out the time, so that a retry is recognised as the same order.
    fingerprint = request_fingerprint({k: v for k, v in data.items() if k != "placed_at"})
    replacement, created = order_capture(merchant=original.merchant, data=data, actor=actor, fingerprint=fingerprint)
    if created:
        record(original, "replacement_order", actor=actor, reason=note, payload={"order": replacement.number})
    return replacement
