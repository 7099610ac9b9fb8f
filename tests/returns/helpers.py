"""Set-up of the returns tests: a delivered, paid order, its returns centre and reason codes."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from fulfillment.demo import seed_carriers
from inventory.models import Node, Product, StockLevel
from inventory.selectors import stock_atp
from orders.models import Order, OrderStatus
from returns.models import ReturnReason, ReturnSettings
from tests.factories import (
    FulfillmentOrderFactory,
    FulfillmentOrderLineFactory,
    NodeFactory,
    OrderFactory,
    OrderLineFactory,
    PaymentFactory,
    ShipmentFactory,
    ShipmentLineFactory,
    TaxRateFactory,
)  # fmt: skip


def setup_returns(api: Any, **settings: Any) -> Node:
    """Reason codes, a returns centre (receive_returns) and carriers with rate cards."""
    seed_carriers()
    ReturnReason.objects.create(merchant=api.merchant, code="changed_mind", label="Changed my mind",
                                restocking_fee_percent=Decimal("10"))  # fmt: skip
    ReturnReason.objects.create(merchant=api.merchant, code="defective", label="Defective")
    ReturnReason.objects.create(merchant=api.merchant, code="wrong_item", label="Wrong item sent", wrong_item=True)
    centre = NodeFactory(code="RC-EAST", type=Node.Type.DC, city="Edison", region="NJ", postal_code="08837",
                         capabilities=["ship", "receive_returns"], merchants=[api.merchant])  # fmt: skip
    api.store.capabilities = ["ship", "pickup", "receive_returns"]
    api.store.save()
    ReturnSettings.objects.create(merchant=api.merchant, **settings)
    return centre


def delivered_order(
    api: Any,
    parts: list[tuple[Product, int, str, str, str]],
    *,
    shipping: str = "6.00",
    shipping_tax: str = "0.00",
    delivered_days_ago: int = 3,
    **order: Any,
) -> Order:
    """A delivered order, its money captured: parts are (product, quantity, unit price, discount, tax)."""
    lines_total = sum(Decimal(p) * q - Decimal(d) + Decimal(t) for _, q, p, d, t in parts)
    total = lines_total + Decimal(shipping) + Decimal(shipping_tax)
    created = OrderFactory(
        merchant=api.merchant, channel=api.web, status=OrderStatus.DELIVERED, total=total,
        shipping_price=Decimal(shipping), shipping_tax=Decimal(shipping_tax), **order,
    )  # fmt: skip
    PaymentFactory(order=created, amount=total, status="captured", authorized_amount=total, captured_amount=total,
                   transaction_type="capture")  # fmt: skip
    fo = FulfillmentOrderFactory(order=created, node=NodeFactory(merchants=[api.merchant]), status="delivered")
    shipment = ShipmentFactory(fulfillment_order=fo, order=created, status="delivered",
                               delivered_at=timezone.now() - timedelta(days=delivered_days_ago))  # fmt: skip
    for position, (product, qty, price, discount, tax) in enumerate(parts, start=1):
        line = OrderLineFactory(
            order=created, position=position, product=product, quantity=qty, unit_price=Decimal(price),
            discount=Decimal(discount), tax=Decimal(tax), qty_shipped=qty, qty_delivered=qty,
        )  # fmt: skip
        fo_line = FulfillmentOrderLineFactory(fulfillment_order=fo, order_line=line, quantity=qty)
        ShipmentLineFactory(shipment=shipment, fulfillment_line=fo_line, order_line=line, quantity=qty)
    return created


def california_tax(api: Any, rate: str = "0.0850") -> None:
    TaxRateFactory(merchant=api.merchant, country="US", region="CA", rate=Decimal(rate), shipping_taxable=True)


def atp(product: Product, node: Node) -> int:
    row = StockLevel.objects.filter(product=product, node=node).first()
    return stock_atp(row) if row else 0


def request(api: Any, order: Order, lines: list[dict[str, Any]], method: str = "ship_back", **extra: Any) -> Any:
    return api.client.post("/api/v1/returns/", {"order": order.number, "lines": lines, "method": method, **extra},
                           format="json")  # fmt: skip


def units(body: dict[str, Any]) -> list[int]:
    return [unit["id"] for line in body["lines"] for unit in line["units"]]
