"""Outbox consumers of routing (registered when FulfillmentConfig.ready() imports this module).

- `order.amended` (destination, service level or pick-up store): routed again before release.
- `inventory.received`: backorders waiting for those SKUs become due; the retry job runs.
- `inventory.shortfall`: the lost units come off their fulfilment orders and are routed again.
- `fulfillment_order.unfulfillable`: units a node gave back (rejection, short pick) are routed again.
"""

from __future__ import annotations

import logging
from typing import Any

from fulfillment.routing import services, tasks
from oms.models import OutboxEvent
from oms.outbox import consumer, enqueue_after_commit

logger = logging.getLogger(__name__)


@consumer("fulfillment.routing.amended", "order.amended")
def reroute_when_amended(event: OutboxEvent) -> None:
    """A new destination, service level or pick-up store before release: route again."""
    if event.subject_type == "orders.order" and services.ROUTING_INPUTS & set(event.payload.get("fields", [])):
        enqueue_after_commit(tasks.order_reroute_amended, int(event.subject_id))


def _received_products(payload: dict[str, Any]) -> list[int]:
    items = payload.get("items")
    if isinstance(items, list):
        return [int(i["product_id"]) for i in items if isinstance(i, dict) and i.get("product_id")]
    return [int(payload["product_id"])] if payload.get("product_id") else []


@consumer("fulfillment.routing.received", "inventory.received")
def retry_backorders_on_receipt(event: OutboxEvent) -> None:
    products = _received_products(event.payload)
    if products and services.backorders_mark_due(merchant_id=event.merchant_id, product_ids=products):
        enqueue_after_commit(tasks.backorders_retry, "receipt")


@consumer("fulfillment.routing.shortfall", "inventory.shortfall")
def reroute_on_shortfall(event: OutboxEvent) -> None:
    payload = event.payload
    services.shortfall_reroute(
        product_id=int(payload["product_id"]),
        node_code=str(payload.get("node", "")),
        references=list(payload.get("references") or []),
        cause=str(payload.get("cause", "")),
    )


@consumer("fulfillment.routing.unfulfillable", "fulfillment_order.unfulfillable")
def reroute_returned_units(event: OutboxEvent) -> None:
    if event.subject_type == "fulfillment.fulfillmentorder":
        services.units_returned_reroute(
            fulfillment_order_id=int(event.subject_id),
            since=event.created_at,
            reason=str(event.payload.get("reason", "")),
        )
