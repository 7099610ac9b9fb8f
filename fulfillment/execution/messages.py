"""Messages to integrated nodes (a WMS): release, cancel request, cancellation, hold, resume.

The outbox consumer writes each message as a row (`NodeMessage`) in the relay's transaction
and asks for it to be sent after commit; `message_delivery` POSTs it, signed, outside any
transaction, and retries it with backoff kept in the row. The relay never waits on a node's
system. Without an integrated node the consumer costs nothing (a per-process cache). The node's
own answers come back through the API.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from fulfillment.execution.models import NodeMessage, NodeProfile
from fulfillment.models import AT_NODE, FulfillmentOrder
from inventory.models import Node
from oms.caches import ProcessCache
from oms.models import OutboxEvent
from oms.outbox import consumer, enqueue_ids_after_commit

FO_EVENTS = {
    "fulfillment_order.released": "release",
    "fulfillment_order.cancel_requested": "cancel_request",
    "fulfillment_order.cancelled": "cancelled",
}
ORDER_EVENTS = {"order.on_hold": "hold", "order.hold_resolved": "resume"}


def release_message(fo: FulfillmentOrder) -> dict[str, Any]:
    order = fo.order
    return {
        "id": fo.pk,
        "order": order.number,
        "node": fo.node.code,
        "status": fo.status,
        "service_level": order.service_level,
        "promise_date": order.promise_date.isoformat() if order.promise_date else None,
        "fulfillment_type": order.fulfillment_type,
        "ship_to": order.shipping_address,
        "lines": [
            {
                "line": line.pk,
                "sku": line.order_line.sku,
                "name": line.order_line.name,
                "barcodes": line.order_line.product.all_barcodes,
                "quantity": line.qty_open,
            }
            for line in fo.lines.select_related("order_line__product")
        ],  # fmt: skip
    }


def _integrated_nodes(_: None) -> dict[str, int]:
    """Code -> id of the nodes with a system to tell."""
    profiles = NodeProfile.objects.filter(mode=NodeProfile.Mode.INTEGRATED).exclude(endpoint_url="")
    return dict(profiles.values_list("node__code", "node_id"))


# Per process: most nodes are not integrated, so most events cost this consumer nothing.
_INTEGRATED = ProcessCache("fulfillment.integrated_nodes", _integrated_nodes, invalidated_by=(NodeProfile, Node))


def _for_integrated_node(event: OutboxEvent) -> bool:
    """A fulfilment order's event names its node (oms.payloads): only an integrated one is told.
    An order's event may concern any of its nodes."""
    integrated = _INTEGRATED.get(None)
    if event.type in FO_EVENTS:
        return (event.payload or {}).get("node") in integrated
    return bool(integrated)


def _row(event: OutboxEvent, fo: FulfillmentOrder, message: dict[str, Any]) -> NodeMessage:
    body = json.dumps(message, sort_keys=True, default=str)
    return NodeMessage(
        node_id=fo.node_id, fulfillment_order=fo, event_id=event.pk, type=message["type"], body=body,
        next_attempt_at=timezone.now(),
    )  # fmt: skip


@consumer("fulfillment.node_messages", *FO_EVENTS, *ORDER_EVENTS, has_work=_for_integrated_node)
def node_messages(event: OutboxEvent) -> None:
    """Write the event's messages to integrated nodes; they are sent after the relay commits."""
    integrated = set(_INTEGRATED.get(None).values())
    rows = []
    if event.type in FO_EVENTS:
        fo = FulfillmentOrder.objects.select_related("order", "node").filter(pk=event.subject_id).first()
        if fo is not None and fo.node_id in integrated:
            message = {
                "type": FO_EVENTS[event.type],
                "event_id": str(event.pk),
                "fulfillment_order": release_message(fo),
            }
            if event.type == "fulfillment_order.cancel_requested":
                message["cancel"] = {"reason": event.payload.get("reason", ""), "lines": event.payload.get("lines", {})}
            rows.append(_row(event, fo, message))
    else:
        fos = FulfillmentOrder.objects.filter(order_id=event.subject_id, status__in=AT_NODE, node_id__in=integrated)
        for fo in fos.select_related("order", "node"):
            about = {"id": fo.pk, "order": fo.order.number, "node": fo.node.code}
            rows.append(_row(event, fo, {"type": ORDER_EVENTS[event.type], "event_id": str(event.pk),
                                         "fulfillment_order": about}))  # fmt: skip
    if rows:
        from fulfillment.tasks import node_messages_send

        # A redelivered event meets the unique (event, fulfilment order) and adds nothing.
        NodeMessage.objects.bulk_create(rows, ignore_conflicts=True)
        enqueue_ids_after_commit(node_messages_send, [str(row.pk) for row in rows])
