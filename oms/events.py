"""The one catalogue of event types: part of the API, since webhook subscriptions filter on them.

Every emitter and consumer names its types from here: `oms.outbox.emit` refuses a type that is
not catalogued, and a test fails when a consumer listens for a type that nothing emits. Each
type's payload is built by the one builder `PAYLOADS` names for it (oms/payloads.py). A new
type goes here first (with a line in docs/NOTIFICATIONS.md).

A subscription names event types, whole families (`order.*`) or `*` (everything, including
types added later). `return.*` is reserved for the returns work: a subscription may name it now.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from oms import payloads

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
    # Also emitted by routing and fulfilment: the order's later states, carrier milestones and
    # each fulfilment order's own steps (one fulfilment order per node per order).
    "order.partially_allocated": "Routing reserved stock for part of the order (order.allocated comes too).",
    "order.partially_shipped": "Part of the order has shipped.",
    "order.shipped": "Everything still to ship has shipped.",
    "order.delivered": "Every shipped line was delivered.",
    "order.completed": "Every line is delivered, picked up or cancelled and the return window closed.",
    "shipment.available_for_pickup": "The carrier holds a shipment at its pick-up point.",
    "shipment.exception": "The carrier reports a problem with a shipment (delay, damage, address).",
    "shipment.returned_to_sender": "The carrier is returning a shipment to the node.",
    "fulfillment_order.released": "A fulfilment order was released to its node.",
    "fulfillment_order.accepted": "The node accepted its fulfilment order.",
    "fulfillment_order.rejected": "The node rejected its fulfilment order; routing takes the units back.",
    "fulfillment_order.picked": "The node picked the fulfilment order (short picks go back to routing).",
    "fulfillment_order.packed": "The node packed the fulfilment order (scan-verified).",
    "fulfillment_order.shipped": "The fulfilment order's parcels shipped.",
    "fulfillment_order.delivered": "Every parcel of the fulfilment order was delivered.",
    "fulfillment_order.ready_for_pickup": "A pick-up fulfilment order waits at the store counter.",
    "fulfillment_order.picked_up": "The customer collected a pick-up fulfilment order.",
    "fulfillment_order.pickup_expired": "A pick-up was not collected in time.",
    "fulfillment_order.cancel_requested": "The node was asked to cancel units it already works on.",
    "fulfillment_order.cancelled": "A fulfilment order (or some of its units) was cancelled.",
    "fulfillment_order.unfulfillable": "The node cannot fulfil units it accepted.",
    # Returns (returns app): the RMA's steps, exchanges, claims and appeasements.
    "return.requested": "A return (RMA) was requested for some of an order's units.",
    "return.authorized": "A return was authorized (label link or store instructions in the payload).",
    "return.rejected": "A return request was refused, with the reason.",
    "return.received": "The node counted the returned units in (per-unit receipt outcome).",
    "return.inspected": "The returned units were graded and put away.",
    "return.completed": "The return's refund was issued (or nothing was due) and it is closed.",
    "exchange.created": "A return came with replacement lines; the replacement order is linked.",
    "claim.approved": "A claim (damaged, missing or wrong item) was approved: refund or free replacement.",
    "return.appeasement_issued": "A goodwill refund without a return was issued.",
}

# The builder (oms.payloads) of each type's payload: by family, and by type where a family mixes.
_BUILDER_OF_FAMILY: dict[str, Callable[..., payloads.Payload]] = {
    "order": payloads.order_payload,
    "payment": payloads.payment_payload,
    "refund": payloads.refund_payload,
    "shipment": payloads.shipment_payload,
    "fulfillment_order": payloads.fulfillment_order_payload,
    "exception": payloads.exception_payload,
    "return": payloads.return_payload,
    "exchange": payloads.exchange_payload,
    "claim": payloads.claim_payload,
}
_BUILDER_OF_TYPE: dict[str, Callable[..., payloads.Payload]] = {
    "inventory.received": payloads.received_payload,
    "inventory.shortfall": payloads.shortfall_payload,
    "inventory.low_stock": payloads.stock_level_payload,
    "inventory.availability_changed": payloads.availability_payload,
    "return.appeasement_issued": payloads.appeasement_payload,
}
PAYLOADS: dict[str, Callable[..., payloads.Payload]] = {
    name: _BUILDER_OF_TYPE.get(name) or _BUILDER_OF_FAMILY[name.split(".", 1)[0]] for name in EVENT_TYPES
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
