"""An event as merchants receive it: id, type, time, merchant, and the object as the API shows it.

The object is rendered with the API's own output serializers when the event is delivered, so a
webhook carries what GET on that object would answer then; `payload` is what the emitter
recorded at the time of the event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fulfillment.api.serializers import FulfillmentOrderOut, ShipmentOut
from fulfillment.selectors import fulfillment_order_get
from fulfillment.tracking.models import Shipment
from inventory.api.serializers import NodeOut, ProductOut
from inventory.models import Node, Product, StockLevel
from inventory.selectors import stock_atp
from oms.errors import NotFound
from oms.models import Merchant, OpsException, OutboxEvent
from oms.payloads import exception_payload, stock_level_payload
from orders.api.outputs import OrderOut
from orders.models import Order
from orders.selectors import order_get

Renderer = Callable[[Merchant, str], dict[str, Any] | None]


def _order(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    number = Order.objects.filter(merchant=merchant, pk=pk).values_list("number", flat=True).first()
    return OrderOut(order_get(merchant=merchant, number=number)).data if number else None


def _exception(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    exc = OpsException.objects.filter(merchant=merchant, pk=pk).first()
    if exc is None:
        return None
    return {
        **exception_payload(exc),
        "created_at": exc.created_at.isoformat(),
        "resolved_at": exc.resolved_at.isoformat() if exc.resolved_at else None,
    }


def _stock_level(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    stock = StockLevel.objects.filter(product__merchant=merchant, pk=pk).select_related("product", "node").first()
    return stock_level_payload(stock, atp=stock_atp(stock)) if stock else None


def _node(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    node = Node.objects.filter(pk=pk).first()
    return NodeOut(node, context={"merchant": merchant}).data if node else None


def _product(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    product = Product.objects.filter(merchant=merchant, pk=pk).first()
    return ProductOut(product).data if product else None


def _shipment(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    shipment = (
        Shipment.objects.filter(order__merchant=merchant, pk=pk)
        .select_related("carrier", "service")
        .prefetch_related("lines__order_line")
        .first()
    )
    return {**ShipmentOut(shipment).data, "order": shipment.order.number} if shipment else None


def _fulfillment_order(merchant: Merchant, pk: str) -> dict[str, Any] | None:
    try:
        return FulfillmentOrderOut(fulfillment_order_get(merchant=merchant, id=int(pk))).data
    except (NotFound, ValueError):
        return None


# subject_type -> (object_type, renderer). Apps further along register theirs with `register`.
RENDERERS: dict[str, tuple[str, Renderer]] = {
    "orders.order": ("order", _order),
    "oms.opsexception": ("exception", _exception),
    "inventory.stocklevel": ("stock_level", _stock_level),
    "inventory.node": ("node", _node),
    "inventory.product": ("product", _product),
    "fulfillment.shipment": ("shipment", _shipment),
    "fulfillment.fulfillmentorder": ("fulfillment_order", _fulfillment_order),
}


def register(subject_type: str, object_type: str, renderer: Renderer) -> None:
    RENDERERS[subject_type] = (object_type, renderer)


def subject_object(event: OutboxEvent) -> tuple[str, dict[str, Any] | None]:
    """The event's subject as the API shows it now (None when it is gone or has no API form)."""
    object_type, renderer = RENDERERS.get(event.subject_type, (event.subject_type.rsplit(".", 1)[-1], None))
    if renderer is None or event.merchant is None:
        return object_type, None
    return object_type, renderer(event.merchant, event.subject_id)


def event_envelope(event: OutboxEvent) -> dict[str, Any]:
    """The JSON body of a webhook for `event`."""
    merchant = event.merchant
    assert merchant is not None
    object_type, obj = subject_object(event)
    return {
        "id": str(event.pk),
        "type": event.type,
        "created_at": event.created_at.isoformat().replace("+00:00", "Z"),
        "merchant": merchant.code,
        "object_type": object_type,
        "object_id": event.subject_id,
        "object": obj,
        "payload": event.payload,
    }
