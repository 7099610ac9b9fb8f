"""Outbox consumers of routing (registered when FulfillmentConfig.ready() imports this module).

- `order.ready` (and `order.hold_resolved`): the allocation job for the order, after commit.
- `order.amended` (destination, service level or pick-up store): routed again before release.
- `inventory.received`: backorders waiting for those SKUs become due; the retry job runs.
- `inventory.shortfall`: the lost units come off their fulfilment orders and are routed again.
- `fulfillment_order.unfulfillable`: units a node gave back (rejection, short pick) are routed again.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.db import transaction

from fulfillment.routing import services, tasks
from oms.models import OutboxEvent
from oms.outbox import consumer

logger = logging.getLogger(__name__)


def _send(task: Any, *args: Any) -> None:
    try:
        task.apply_async(args, retry=False)
    except Exception as exc:  # the broker is down: the beat sweepers pick the work up
        logger.warning("broker unreachable (%r); %s left to the sweeper", exc, task.name, exc_info=True)


def later(task: Any, *args: Any) -> None:
    """Enqueue the task once the current transaction commits."""
    transaction.on_commit(partial(_send, task, *args))


@consumer("fulfillment.routing.allocate", "order.ready", "order.hold_resolved")
def allocate_when_ready(event: OutboxEvent) -> None:
    if event.subject_type == "orders.order":
        trigger = "ready" if event.type == "order.ready" else "hold_resolved"
        later(tasks.order_allocate, int(event.subject_id), trigger)


@consumer("fulfillment.routing.amended", "order.amended")
def reroute_when_amended(event: OutboxEvent) -> None:
    """A new destination, service level or pick-up store before release: route again."""
    if event.subject_type == "orders.order" and services.ROUTING_INPUTS & set(event.payload.get("fields", [])):
        later(tasks.order_reroute_amended, int(event.subject_id))


def _received_products(payload: dict[str, Any]) -> list[int]:
    items = payload.get("items")
    if isinstance(items, list):
        return [int(i["product_id"]) for i in items if isinstance(i, dict) and i.get("product_id")]
    return [int(payload["product_id"])] if payload.get("product_id") else []


@consumer("fulfillment.routing.received", "inventory.received")
def retry_backorders_on_receipt(event: OutboxEvent) -> None:
    products = _received_products(event.payload)
    if products and services.backorders_mark_due(merchant_id=event.merchant_id, product_ids=products):
        later(tasks.backorders_retry, "receipt")


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
