"""The catalogue of event types: part of the API, since webhook subscriptions filter on them.

A subscription names event types, whole families (`order.*`) or `*` (everything, including
types added later). `return.*` is reserved for the returns work: a subscription may name it now.
"""

from __future__ import annotations

from collections.abc import Iterable

ALL = "*"

EVENT_TYPES: dict[str, str] = {
    "order.received": "An order was captured from a channel.",
    "order.validated": "The order passed validation (emitted right after order.received).",
    "order.on_hold": "The order was stopped by its first open hold.",
    "order.hold_resolved": "The last open hold was resolved; the order resumed.",
    "order.amended": "The order was changed before release (address, lines, service level).",
    "order.ready": "The payment rule for allocation is met.",
    "payment.captured": "Money was captured on one of the order's payments.",
    "payment.failed": "A capture or re-authorization failed; the order is held.",
    "order.allocated": "Routing reserved stock for the order (all or part of it).",
    "order.backordered": "Routing found no stock for some or all of the order.",
    "order.released": "The order was released to its fulfilment nodes.",
    "shipment.shipped": "A shipment left a node (carrier, tracking number, items).",
    "shipment.out_for_delivery": "The carrier is out delivering a shipment.",
    "shipment.delivered": "The carrier delivered a shipment.",
    "order.partially_cancelled": "Some line quantities were cancelled.",
    "order.cancelled": "The whole order was cancelled.",
    "order.ready_for_pickup": "A pick-up order is waiting at the store.",
    "order.picked_up": "The customer collected a pick-up order.",
    "refund.issued": "Money was refunded on the order.",
    "exception.raised": "An operational exception (alert) was opened.",
    "exception.resolved": "An operational exception was resolved or dismissed.",
    "inventory.received": "Units became available at a node (receipt, count, transfer).",
    "inventory.shortfall": "A node lost stock that was reserved; reservations were released.",
    "inventory.low_stock": "A SKU's available-to-promise at a node fell to its reorder threshold.",
    "inventory.availability_changed": "A SKU's availability across nodes changed.",
}

# Families a subscription may name as `<family>.*`; `return` is emitted by the returns work.
FAMILIES: frozenset[str] = frozenset({*(name.split(".", 1)[0] for name in EVENT_TYPES), "return"})


def pattern_is_known(pattern: str) -> bool:
    """True for `*`, a catalogued type, or `<family>.*` / `return.<anything>`."""
    if pattern == ALL or pattern in EVENT_TYPES:
        return True
    family, _, rest = pattern.partition(".")
    if not rest:
        return False
    return (rest == "*" and family in FAMILIES) or (family == "return" and rest.replace("_", "").isalpha())


def matches(patterns: Iterable[str], event_type: str) -> bool:
    """True when any of the subscription's patterns selects `event_type`."""
    family = event_type.split(".", 1)[0]
    return any(p in (ALL, event_type, f"{family}.*") for p in patterns)
