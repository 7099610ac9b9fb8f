"""Shared set-up of the fulfilment tests: carriers, stock, routed orders, signed carrier events."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from fulfillment.demo import seed_carriers
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from fulfillment.signing import sign
from inventory.models import Node, Product, StockLevel
from inventory.services.stock import ReserveItem, stock_receive, stock_reserve
from oms.actors import Actor
from oms.refs import Ref
from orders.models import Order, OrderStatus
from tests.factories import NodeFactory, OrderFactory, OrderLineFactory, PaymentFactory

NODE_ACTOR = Actor.system("tests")
SECRETS = {"parcelo": "whsec_demo_parcelo", "swift": "whsec_demo_swift", "metropost": "whsec_demo_metropost"}


def carriers() -> None:
    seed_carriers()


def dc(api: Any, code: str = "DC-EAST", **kwargs: Any) -> Node:
    """A distribution centre in Edison NJ serving the merchant."""
    defaults = {"type": Node.Type.DC, "city": "Edison", "region": "NJ", "postal_code": "08837",
                "latitude": Decimal("40.518700"), "longitude": Decimal("-74.412100"),
                "merchants": [api.merchant]}  # fmt: skip
    return NodeFactory(code=code, **{**defaults, **kwargs})


def stock(product: Product, node: Node, quantity: int) -> None:
    stock_receive(product=product, node=node, quantity=quantity, actor=NODE_ACTOR, reason="tests")


def routed_order(
    api: Any,
    parts: list[tuple[Product, Node, int]],
    *,
    status: str = OrderStatus.ALLOCATED,
    pickup: Node | None = None,
    **order: Any,
) -> Order:
    """An order as routing leaves it: one fulfilment order per node in `created`, its stock reserved
    under the fulfilment order (fulfillment.execution.common.reservation_ref), lines allocated."""
    order.setdefault("placed_at", timezone.now() - timedelta(hours=1))
    order.setdefault("promise_date", timezone.localdate() + timedelta(days=10))
    if pickup is not None:
        order.update(fulfillment_type="pickup", pickup_node=pickup, service_level="pickup")
    total = sum(Decimal("19.99") * qty for _, _, qty in parts)
    created = OrderFactory(merchant=api.merchant, channel=api.web, status=status, total=total, **order)
    PaymentFactory(order=created, amount=total, status="authorized", authorized_amount=total)
    fos: dict[int, FulfillmentOrder] = {}
    for position, (product, node, qty) in enumerate(parts, start=1):
        fo = fos.get(node.pk) or FulfillmentOrder.objects.create(order=created, node=node)
        fos[node.pk] = fo
        line = OrderLineFactory(order=created, position=position, product=product, quantity=qty, qty_allocated=qty)
        FulfillmentOrderLine.objects.create(fulfillment_order=fo, order_line=line, quantity=qty)
        result = stock_reserve(items=[ReserveItem.of(product, node, qty)], reference=Ref.to(fo), actor=NODE_ACTOR)
        assert result.ok, result.failure
    return created


def fos_of(order: Order) -> list[FulfillmentOrder]:
    return list(FulfillmentOrder.objects.filter(order=order).select_related("node").order_by("pk"))


def held(product: Product, node: Node) -> tuple[int, int]:
    row = StockLevel.objects.get(product=product, node=node)
    return row.on_hand, row.allocated


def url(fo: FulfillmentOrder, action: str = "") -> str:
    return f"/api/v1/fulfillment-orders/{fo.pk}/" + (f"{action}/" if action else "")


def scans_for(fo: FulfillmentOrder) -> list[str]:
    """The barcodes of every unit picked, one per unit."""
    return [
        line.order_line.product.barcode
        for line in fo.lines.select_related("order_line__product")
        for _ in range(line.qty_picked - line.qty_shipped - line.qty_cancelled)
    ]


def tracking_event(client: Any, *, carrier: str, tracking_number: str, status: str, event_id: str,
                   occurred_at: str, location: str = "", secret: str | None = None, **extra: Any) -> Any:  # fmt: skip
    body = json.dumps({"event_id": event_id, "carrier": carrier, "tracking_number": tracking_number, "status": status,
                       "occurred_at": occurred_at, "location": location, **extra}).encode()  # fmt: skip
    signature = sign(secret if secret is not None else SECRETS[carrier], body)
    return client.generic(
        "POST", "/api/v1/tracking-events/", body, content_type="application/json", HTTP_X_OMS_SIGNATURE=signature
    )


def shipped(api: Any, parts: list[tuple[Product, Node, int]], **order: Any) -> Order:
    """An order routed, released, picked, packed and shipped (one parcel per fulfilment order)
    through the services, as a node working its queue would."""
    from fulfillment.execution.node import fulfillment_order_accept, fulfillment_order_pack, fulfillment_order_pick
    from fulfillment.execution.release import order_release
    from fulfillment.execution.shipping import fulfillment_order_ship

    carriers()
    result = routed_order(api, parts, **order)
    order_release(order=result)
    for fo in fos_of(result):
        fulfillment_order_accept(fulfillment_order=fo, actor=NODE_ACTOR)
        fulfillment_order_pick(fulfillment_order=fo, actor=NODE_ACTOR)
        fulfillment_order_pack(fulfillment_order=fo, scans=scans_for(fo), actor=NODE_ACTOR)
        fulfillment_order_ship(fulfillment_order=fo, actor=NODE_ACTOR)
    return result
