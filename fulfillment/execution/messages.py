"""Messages to integrated nodes (a WMS): release, cancel request, cancellation, hold, resume.

An outbox consumer POSTs a signed JSON message to the node's endpoint. It calls the network, so
the relay never runs it inside its batch: the batch leaves it a delivery row, run right after in
its own transaction. A failure raises, so the outbox retries it with backoff from the database
(`OutboxDelivery.next_attempt_at`), whatever happens to the broker; the node's own answers come
back through the API. Without an integrated node it costs nothing (a per-process cache).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings

from fulfillment.execution.models import NodeProfile
from fulfillment.models import AT_NODE, FulfillmentOrder
from fulfillment.signing import HEADER, sign
from oms.caches import ProcessCache
from oms.models import OutboxEvent
from oms.outbox import consumer

FO_EVENTS = {
    "fulfillment_order.released": "release",
    "fulfillment_order.cancel_requested": "cancel_request",
    "fulfillment_order.cancelled": "cancelled",
}
ORDER_EVENTS = {"order.on_hold": "hold", "order.hold_resolved": "resume"}


class NodeUnreachable(Exception):
    pass


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


def send(profile: NodeProfile, message: dict[str, Any]) -> None:
    body = json.dumps(message, sort_keys=True, default=str).encode()
    request = urllib.request.Request(
        profile.endpoint_url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", HEADER: sign(profile.secret, body)},
    )
    timeout = getattr(settings, "NODE_MESSAGE_TIMEOUT_SECONDS", 10)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - configured endpoint
            if response.status >= 300:
                raise NodeUnreachable(f"{profile.node} answered {response.status}")
    except urllib.error.URLError as exc:
        raise NodeUnreachable(f"{profile.node} at {profile.endpoint_url}: {exc}") from exc


def _integrated(node_id: int) -> NodeProfile | None:
    profile = NodeProfile.objects.filter(node_id=node_id).select_related("node").first()
    return profile if profile is not None and profile.integrated else None


def _integrated_node_ids(_: None) -> frozenset[int]:
    profiles = NodeProfile.objects.filter(mode=NodeProfile.Mode.INTEGRATED).exclude(endpoint_url="")
    return frozenset(profiles.values_list("node_id", flat=True))


# Per process: most networks have no integrated node, so most events cost this consumer nothing.
_INTEGRATED = ProcessCache("fulfillment.integrated_nodes", _integrated_node_ids, invalidated_by=(NodeProfile,))


def _any_integrated_node(event: OutboxEvent) -> bool:
    return bool(_INTEGRATED.get(None))


@consumer("fulfillment.node_messages", *FO_EVENTS, *ORDER_EVENTS, has_work=_any_integrated_node, calls_network=True)
def node_messages(event: OutboxEvent) -> None:
    if event.type in FO_EVENTS:
        fo = FulfillmentOrder.objects.select_related("order", "node").filter(pk=event.subject_id).first()
        profile = _integrated(fo.node_id) if fo else None
        if fo is None or profile is None:
            return
        message = {"type": FO_EVENTS[event.type], "event_id": str(event.pk), "fulfillment_order": release_message(fo)}
        if event.type == "fulfillment_order.cancel_requested":
            message["cancel"] = {"reason": event.payload.get("reason", ""), "lines": event.payload.get("lines", {})}
        send(profile, message)
        return
    fos = FulfillmentOrder.objects.filter(order_id=event.subject_id, status__in=AT_NODE).select_related("order", "node")
    for fo in fos:
        profile = _integrated(fo.node_id)
        if profile is not None:
            about = {"id": fo.pk, "order": fo.order.number, "node": fo.node.code}
            send(profile, {"type": ORDER_EVENTS[event.type], "event_id": str(event.pk), "fulfillment_order": about})
