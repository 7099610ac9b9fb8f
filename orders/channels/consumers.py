"""Where channel pushes subscribe to outbox events: the one place to adapt to the relay.

Each handler only writes ChannelPush rows (services/pushes.py); sending is the push job's.
Orders never import fulfilment: shipments are known here by their event payloads alone.
"""

from __future__ import annotations

from django.db.models import F

from oms.caches import ProcessCache
from oms.models import OutboxEvent
from oms.outbox import register_consumer
from orders.channels.models import ChannelConnection, ChannelPush
from orders.channels.services.intake import from_channel
from orders.channels.services.pushes import channel_push_queue
from orders.models import Order
from orders.payments.gateways.sandbox import ChannelGateway

CONSUMER = "orders.channels.pushes"
CHANNEL_GATEWAY = ChannelGateway.code
EVENT_TYPES = (
    "inventory.availability_changed",
    "shipment.shipped",
    "order.cancelled",
    "order.partially_cancelled",
    "refund.issued",
    "payment.captured",
)


def _pushable(merchant_id: int | None) -> list[ChannelConnection]:
    return list(
        ChannelConnection.objects.filter(merchant_id=merchant_id, active=True)
        .exclude(kind=ChannelConnection.Kind.FEED)
        .select_related("channel")
    )


def _order(event: OutboxEvent) -> tuple[Order, ChannelConnection] | None:
    number = event.payload.get("number") or event.payload.get("order")
    order = Order.objects.filter(merchant_id=event.merchant_id, number=number).select_related("channel").first()
    if order is None:
        return None
    connection = ChannelConnection.objects.filter(channel_id=order.channel_id, active=True).first()
    if connection is None or connection.kind == ChannelConnection.Kind.FEED:
        return None
    return order, connection


def _oms_capture_of_channel_money(payload: dict[str, object]) -> bool:
    """A capture the OMS made (not the channel's own charge, recorded at intake without
    `amount_captured`) of money the channel holds: one on the merchant's own gateway moved it."""
    return "amount_captured" in payload and payload.get("gateway") == CHANNEL_GATEWAY


def channel_pushes_for_event(event: OutboxEvent) -> None:
    payload = event.payload
    if event.type == "inventory.availability_changed":
        for connection in _pushable(event.merchant_id):
            if connection.channel.code in payload.get("safe_to_promise", {}):
                channel_push_queue(
                    connection=connection, kind=ChannelPush.Kind.AVAILABILITY, payload={"skus": [payload["sku"]]}
                )
        return
    if event.type == "payment.captured" and not _oms_capture_of_channel_money(payload):
        return
    found = _order(event)
    if found is None or from_channel(str(payload.get("reason", ""))):
        return  # not a channel's order, or the channel started it (a cancellation's refund too)
    order, connection = found
    base = {"order": order.number, "external_id": order.external_id, "name": order.channel_order_name}
    extra: dict[str, object] = {}
    if event.type == "shipment.shipped":
        kind = ChannelPush.Kind.FULFILLMENT
        keep: tuple[str, ...] = ("carrier", "tracking_number", "tracking_url", "lines")
        extra["complete"] = not order.lines.filter(quantity__gt=F("qty_cancelled") + F("qty_shipped")).exists()
    elif event.type == "order.cancelled":
        kind, keep = ChannelPush.Kind.CANCELLATION, ("reason",)
    elif event.type == "order.partially_cancelled":
        kind, keep = ChannelPush.Kind.LINE_CANCELLATION, ("reason", "lines")
    elif event.type == "payment.captured":
        kind, keep = ChannelPush.Kind.CAPTURE, ("currency",)
        extra["amount"] = payload["amount_captured"]
    else:
        # Also for a cancelled order: Shopify's cancel.json (sent without an amount) and
        # WooCommerce's status move no money; the refund push refunds only what the channel's
        # transactions still hold, so it cannot pay twice.
        kind, keep = ChannelPush.Kind.REFUND, ("amount", "currency", "reason")
    channel_push_queue(
        connection=connection,
        kind=kind,
        payload={**base, **{k: payload.get(k) for k in keep if k in payload}, **extra},
    )


def _has_connection(merchant_id: int | None) -> bool:
    return ChannelConnection.objects.filter(merchant_id=merchant_id, active=True).exists()


# Per process: a merchant without an active channel connection costs this consumer nothing.
_CONNECTED = ProcessCache("orders.channel_connections", _has_connection, invalidated_by=(ChannelConnection,))


def _may_push(event: OutboxEvent) -> bool:
    return _CONNECTED.get(event.merchant_id)


def register() -> None:
    register_consumer(CONSUMER, EVENT_TYPES, channel_pushes_for_event, has_work=_may_push)
