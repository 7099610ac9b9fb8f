"""Amendments before release: contact, addresses, service level, fulfilment, promise, notes, and
line changes (orders/services/amend_lines.py)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from oms.actors import Actor
from oms.errors import Conflict, InvalidInput
from oms.outbox import emit
from oms.payloads import order_payload
from orders.models import AMENDABLE, FulfillmentType, Hold, Order
from orders.services.amend_lines import order_lines_amend
from orders.services.capture import resolve_pickup_node
from orders.services.holds import hold_place, holds_resolve_of_type, order_lock
from orders.services.soft_checks import address_problems
from orders.services.timeline import record
from orders.validation import check_fulfillment

_CONTACT = ("email", "phone", "first_name", "last_name")
_SHOWN = ("shipping_address", "billing_address", "promise_date", "notes")


def _text(value: Any) -> str:
    if isinstance(value, dict):  # an address
        return ", ".join(str(value[k]) for k in ("line1", "line2", "city", "region", "postal_code", "country")
                         if value.get(k))  # fmt: skip
    return "" if value is None else str(value)


@transaction.atomic
def order_amend(*, order: Order, changes: dict[str, Any], actor: Actor) -> Order:
    """Apply validated changes; re-check the address; resolve an address hold it fixes."""
    order = order_lock(order)
    if order.status not in AMENDABLE:
        raise Conflict(f"Order {order.number} is {order.status}; it can no longer be amended.", code="invalid_state")
    changed: list[str] = []
    before = {name: getattr(order, name) for name in (*_CONTACT, *_SHOWN, "service_level", "fulfillment_type")}
    for name in _CONTACT:
        if name in changes.get("customer", {}) and getattr(order, name) != changes["customer"][name]:
            setattr(order, name, changes["customer"][name])
            changed.append(f"customer.{name}")
    for name in ("shipping_address", "billing_address", "promise_date", "notes"):
        if name in changes and getattr(order, name) != changes[name]:
            setattr(order, name, changes[name])
            changed.append(name)
    _apply_fulfillment(order, changes, changed)
    # The timeline says what changed: before -> after, in words.
    shown = {name: [_text(value), _text(getattr(order, name))] for name, value in before.items()
             if value != getattr(order, name)}  # fmt: skip
    if not changed and not changes.get("lines"):
        return order
    if changed:
        order.save()
        record(order, "amend", actor=actor, payload={"fields": changed, "changes": shown})
        emit(
            "order.amended", subject=order, merchant_id=order.merchant_id, payload=order_payload(order, fields=changed)
        )
    if changes.get("lines"):
        order_lines_amend(order=order, changes=changes["lines"], actor=actor, reason="Lines changed by amendment")
    _recheck_address(order, actor)
    return order_lock(order)


def _apply_fulfillment(order: Order, changes: dict[str, Any], changed: list[str]) -> None:
    level = changes.get("shipping", {}).get("service_level", order.service_level)
    fulfillment = changes.get("fulfillment") or {
        "type": order.fulfillment_type,
        "location": order.pickup_node.code if order.pickup_node else None,
    }
    if "shipping" not in changes and "fulfillment" not in changes:
        return
    merged = {
        "fulfillment": fulfillment,
        "shipping": {"service_level": level},
        "shipping_address": order.shipping_address,
    }
    errors = check_fulfillment(merged)
    if errors:
        raise InvalidInput(errors)
    previous_node = order.pickup_node
    if fulfillment["type"] == FulfillmentType.PICKUP:
        order.pickup_node = resolve_pickup_node(order.merchant, fulfillment["location"], "fulfillment.location")
    else:
        order.pickup_node = None
    if order.fulfillment_type != fulfillment["type"] or order.pickup_node != previous_node:
        changed.append("fulfillment")
    if order.service_level != level:
        changed.append("shipping.service_level")
    order.fulfillment_type, order.service_level = fulfillment["type"], level


def _recheck_address(order: Order, actor: Actor) -> None:
    problems = address_problems(order)
    has_hold = order.holds.filter(type=Hold.Type.ADDRESS, resolved_at__isnull=True).exists()
    if problems and not has_hold:
        hold_place(order=order, type=Hold.Type.ADDRESS, reason=problems[0], actor=actor)
    elif not problems and has_hold:
        holds_resolve_of_type(order=order, type=Hold.Type.ADDRESS, actor=actor, note="Fixed by amendment")
