"""Small hand-made networks where the right answer is known.

The customer is in New York (10001). DC-EAST is in Newark (about 15 km), STORE-12 in Manhattan
(about 1 km), DC-CENTRAL in Chicago (about 1,150 km), DC-WEST in Reno (about 3,700 km).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from fulfillment.routing.services import policy_create
from inventory.models import Node, StockLevel
from oms.actors import Actor
from oms.tenancy import api_key_issue
from orders.models import Order, OrderLine, OrderStatus
from tests.factories import (
    ChannelFactory,
    MerchantFactory,
    NodeFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StockLevelFactory,
)

ACTOR = Actor.system("tests")
NEW_YORK = {"first_name": "Ana", "last_name": "Silva", "line1": "350 5th Ave", "city": "New York", "region": "NY",
            "postal_code": "10001", "country": "US"}  # fmt: skip
PLACES = {
    "DC-EAST": ("dc", "NJ", "07102", Decimal("40.735700"), Decimal("-74.172400")),
    "STORE-12": ("store", "NY", "10018", Decimal("40.755000"), Decimal("-73.990000")),
    "STORE-20": ("store", "NY", "10451", Decimal("40.820000"), Decimal("-73.920000")),
    "STORE-30": ("store", "CT", "06901", Decimal("41.053000"), Decimal("-73.539000")),
    "DC-CENTRAL": ("dc", "IL", "60601", Decimal("41.885000"), Decimal("-87.622000")),
    "DC-WEST": ("dc", "NV", "89501", Decimal("39.529600"), Decimal("-119.813800")),
    "VENDOR-A": ("dropship", "PA", "19103", Decimal("39.952000"), Decimal("-75.170000")),
}
CAPABILITIES = {"dc": ["ship"], "store": ["ship_from_store", "pickup"], "dropship": ["ship"]}


class Net:
    """A merchant, its web channel, products and nodes; helpers to stock them and order."""

    def __init__(self) -> None:
        self.merchant = MerchantFactory(code="net", order_prefix="NET")
        self.web = ChannelFactory(merchant=self.merchant, code="web")
        self.marketplace = ChannelFactory(merchant=self.merchant, code="marketplace", kind="marketplace")
        self.products: dict[str, Any] = {}
        self.nodes: dict[str, Node] = {}
        _, raw_key = api_key_issue(merchant=self.merchant)
        self.client = APIClient()
        self.client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")

    def product(self, sku: str, **extra: Any) -> Any:
        if sku not in self.products:
            self.products[sku] = ProductFactory(merchant=self.merchant, sku=sku, **extra)
        return self.products[sku]

    def node(self, code: str, **extra: Any) -> Node:
        if code not in self.nodes:
            kind, region, postal, lat, lng = PLACES[code]
            fields = dict(type=kind, region=region, postal_code=postal, latitude=lat, longitude=lng,
                          geo_precision="manual", capabilities=CAPABILITIES[kind], ships_to=["US"])  # fmt: skip
            fields.update(extra)
            self.nodes[code] = NodeFactory(code=code, merchants=[self.merchant], **fields)
        return self.nodes[code]

    def stock(self, code: str, sku: str, on_hand: int, **extra: Any) -> StockLevel:
        return StockLevelFactory(product=self.product(sku), node=self.node(code), on_hand=on_hand, **extra)

    def order(
        self, *lines: tuple[str, int] | tuple[str, int, str], status: str = OrderStatus.READY, **extra: Any
    ) -> Order:
        extra.setdefault("shipping_address", dict(NEW_YORK))
        extra.setdefault("channel", self.web)
        order = OrderFactory(merchant=self.merchant, status=status, **extra)
        for i, item in enumerate(lines):
            sku, quantity = item[0], item[1]
            bundle = item[2] if len(item) > 2 else ""
            OrderLineFactory(order=order, position=i + 1, product=self.product(sku), quantity=quantity, bundle=bundle)
        return order

    def policy(self, *strategies: dict[str, Any], dropship: list[dict[str, str]] | None = None, name: str = "Main"):
        document = {"strategies": list(strategies), "dropship": dropship or []}
        return policy_create(merchant=self.merchant, name=name, document=document, actor=ACTOR)


@pytest.fixture
def net(db: Any) -> Net:
    return Net()


def released(order: Order) -> Order:
    """Send the order's fulfilment orders to their nodes (fulfilment's release service)."""
    from fulfillment.execution.release import order_release

    order_release(order=order)
    order.refresh_from_db()
    assert order.status == "released", order.status
    return order


def allocations(order: Order) -> dict[str, dict[str, int]]:
    """{node code: {sku: quantity}} of the order's live fulfilment orders."""
    out: dict[str, dict[str, int]] = {}
    for fo in order.fulfillment_orders.exclude(status__in=["cancelled", "rejected"]).select_related("node"):
        for line in fo.lines.select_related("order_line"):
            if line.qty_open:
                skus = out.setdefault(fo.node.code, {})
                skus[line.order_line.sku] = skus.get(line.order_line.sku, 0) + line.qty_open
    return out


def lines_of(order: Order) -> dict[str, tuple[int, int]]:
    """{sku: (allocated, backordered)}."""
    return {line.sku: (line.qty_allocated, line.qty_backordered) for line in OrderLine.objects.filter(order=order)}


def path_of(order: Order) -> list[tuple[str, str, str]]:
    """The order's transitions on its timeline: (name, from, to)."""
    return [(e.name, e.from_status, e.to_status) for e in order.events.exclude(to_status="").order_by("id")]
