"""A small, hand-checkable set of orders for the KPI tests, written row by row.

Every order of merchant `kpi` was captured at T0 (2026-11-02 08:00 UTC) with promise date
2026-11-05, unless said otherwise. Nodes: N1 (handling 2.00), N2 (handling 3.00).

| order | what | FOs (node) | ship (h after T0) | delivered | rate(s) |
| --- | --- | --- | --- | --- | --- |
| A | plain, 2 units | N1 | 24 | 11-04 | 7 |
| B | split: 2 lines at 2 nodes | N1, N2 | 10 and 30 | 11-05 | 6 + 8 |
| C | late delivery | N1 | 48 | 11-07 | 7 |
| D | corrected pack | N2 (pack_corrected) | 12 | 11-04 | 8 |
| E | cancelled line (1 of 2 lines) | N1 | 6 | 11-03 | 7 |
| F | still open (released, not packed) | N1 | - | - | - |
| G | backordered at first routing, shipped from the second (promise 11-08) | N1 | 72 | 11-06 | 7 |
| M | marketplace channel, plain; a damaged-in-transit claim | N2 | 2 | 11-03 | 5 |
| R | plain; its unit comes back for a wrong item sent | N1 | 20 | 11-04 | 7 |

Returns requested on 11-10: one of A's two units ("too_small"), R's unit ("wrong_item",
a reason marked wrong-item). A rejected return of C ("too_small") counts for nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fulfillment.models import (
    Carrier,
    CarrierService,
    FulfillmentOrder,
    FulfillmentOrderLine,
    RoutingDecision,
    Shipment,
    ShipmentLine,
)
from inventory.models import Node
from oms.models import Merchant
from orders.models import Order, OrderLine
from returns.models import Claim, Return, ReturnLine, ReturnReason
from tests.factories import (
    ChannelFactory,
    MerchantFactory,
    NodeFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
)

T0 = dt.datetime(2026, 11, 2, 8, 0, tzinfo=dt.UTC)
PROMISE = dt.date(2026, 11, 5)


def at(hours: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=hours)


@dataclass
class World:
    merchant: Merchant
    n1: Node
    n2: Node
    orders: dict[str, Order] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)


class Builder:
    def __init__(self) -> None:
        merchant = MerchantFactory(code="kpi", order_prefix="KPI")
        self.world = World(
            merchant=merchant,
            n1=NodeFactory(code="N1", handling_cost=Decimal("2.00"), merchants=[merchant]),
            n2=NodeFactory(code="N2", handling_cost=Decimal("3.00"), merchants=[merchant]),
        )
        self.world.channels = {
            "web": ChannelFactory(merchant=merchant, code="web"),
            "marketplace": ChannelFactory(merchant=merchant, code="marketplace", kind="marketplace"),
        }
        carrier = Carrier.objects.create(code="kpicar", name="KPI carrier", tracking_prefix="KP", webhook_secret="s")
        self.service = CarrierService.objects.create(carrier=carrier, code="ground", name="Ground")
        self.product = ProductFactory(merchant=merchant)
        self.parcels = 0

    def order(self, name: str, *, status: str, quantities: list[int], channel: str = "web",
              promise: dt.date = PROMISE) -> Order:  # fmt: skip
        order = OrderFactory(
            merchant=self.world.merchant, channel=self.world.channels[channel], number=f"KPI-{name}",
            status=status, promise_date=promise,
        )  # fmt: skip
        Order.objects.filter(pk=order.pk).update(created_at=T0)
        for position, quantity in enumerate(quantities, start=1):
            OrderLineFactory(order=order, position=position, product=self.product, quantity=quantity)
        self.world.orders[name] = order
        return order

    def decision(self, order: Order, outcome: str) -> RoutingDecision:
        return RoutingDecision.objects.create(
            order=order, trigger="ready", policy_label="default", outcome=outcome, explanation="test"
        )

    def fulfil(self, order: Order, node: Node, lines: dict[int, int], *, decision: RoutingDecision,
               ship_hours: float | None, delivered: dt.date | None = None, rate: str = "7.00",
               corrected: bool = False) -> FulfillmentOrder:  # fmt: skip
        """A fulfilment order of `lines` {position: qty}, packed an hour before it ships."""
        shipped = ship_hours is not None
        fo = FulfillmentOrder.objects.create(
            order=order, node=node, decision=decision, pack_corrected=corrected,
            status="delivered" if delivered else "shipped" if shipped else "released",
            released_at=at(1), packed_at=at(ship_hours - 1) if shipped else None,
            shipped_at=at(ship_hours) if shipped else None,
        )  # fmt: skip
        fo_lines = []
        for position, quantity in lines.items():
            line = order.lines.get(position=position)
            fo_lines.append(
                FulfillmentOrderLine.objects.create(
                    fulfillment_order=fo,
                    order_line=line,
                    quantity=quantity,
                    qty_picked=quantity if shipped else 0,
                    qty_shipped=quantity if shipped else 0,
                )  # fmt: skip
            )
            if shipped:
                OrderLine.objects.filter(pk=line.pk).update(
                    qty_allocated=0, qty_shipped=quantity, qty_delivered=quantity if delivered else 0
                )
        if shipped:
            self.parcels += 1
            delivered_at = dt.datetime.combine(delivered, dt.time(15), tzinfo=dt.UTC) if delivered else None
            shipment = Shipment.objects.create(
                fulfillment_order=fo, order=order, carrier=self.service.carrier, service=self.service,
                tracking_number=f"KP{self.parcels:06d}", weight_kg=1, billable_weight_kg=1, rate=Decimal(rate),
                promise_date=order.promise_date, delivered_at=delivered_at,
                status="delivered" if delivered else "in_transit",
            )  # fmt: skip
            Shipment.objects.filter(pk=shipment.pk).update(shipped_at=at(ship_hours))
            for fo_line in fo_lines:
                ShipmentLine.objects.create(
                    shipment=shipment, fulfillment_line=fo_line, order_line=fo_line.order_line,
                    quantity=fo_line.quantity,
                )  # fmt: skip
        return fo

    def give_back(self, order: Order, reason: str, quantity: int, *, status: str = "authorized") -> Return:
        """A return of `quantity` units of the order's first line, requested on 11-10."""
        code = ReturnReason.objects.get_or_create(
            merchant=self.world.merchant, code=reason, defaults={"label": reason, "wrong_item": reason == "wrong_item"}
        )[0]
        rma = Return.objects.create(
            merchant=self.world.merchant, order=order, number=f"RMA-{order.number}-{reason}", status=status,
            method="ship_back", node=self.world.n1, created_by="customer",
        )  # fmt: skip
        Return.objects.filter(pk=rma.pk).update(created_at=dt.datetime(2026, 11, 10, 12, tzinfo=dt.UTC))
        ReturnLine.objects.create(rma=rma, order_line=order.lines.get(position=1), quantity=quantity, reason=code)
        return rma


def build_world() -> World:
    b = Builder()
    w = b.world
    a = b.order("A", status="delivered", quantities=[2])
    b.fulfil(a, w.n1, {1: 2}, decision=b.decision(a, "allocated"), ship_hours=24, delivered=dt.date(2026, 11, 4))

    split = b.order("B", status="delivered", quantities=[1, 1])
    first = b.decision(split, "allocated")
    b.fulfil(split, w.n1, {1: 1}, decision=first, ship_hours=10, delivered=dt.date(2026, 11, 4), rate="6.00")
    b.fulfil(split, w.n2, {2: 1}, decision=first, ship_hours=30, delivered=dt.date(2026, 11, 5), rate="8.00")

    late = b.order("C", status="delivered", quantities=[1])
    b.fulfil(late, w.n1, {1: 1}, decision=b.decision(late, "allocated"), ship_hours=48, delivered=dt.date(2026, 11, 7))

    corrected = b.order("D", status="delivered", quantities=[1])
    b.fulfil(corrected, w.n2, {1: 1}, decision=b.decision(corrected, "allocated"), ship_hours=12,
             delivered=dt.date(2026, 11, 4), rate="8.00", corrected=True)  # fmt: skip

    cancelled_line = b.order("E", status="delivered", quantities=[1, 1])
    OrderLine.objects.filter(order=cancelled_line, position=2).update(qty_cancelled=1)
    b.fulfil(cancelled_line, w.n1, {1: 1}, decision=b.decision(cancelled_line, "allocated"), ship_hours=6,
             delivered=dt.date(2026, 11, 3))  # fmt: skip

    still_open = b.order("F", status="released", quantities=[1])
    b.fulfil(still_open, w.n1, {1: 1}, decision=b.decision(still_open, "allocated"), ship_hours=None)

    backordered = b.order("G", status="delivered", quantities=[1], promise=dt.date(2026, 11, 8))
    b.decision(backordered, "backordered")
    b.fulfil(backordered, w.n1, {1: 1}, decision=b.decision(backordered, "allocated"), ship_hours=72,
             delivered=dt.date(2026, 11, 6))  # fmt: skip

    market = b.order("M", status="delivered", quantities=[1], channel="marketplace")
    b.fulfil(market, w.n2, {1: 1}, decision=b.decision(market, "allocated"), ship_hours=2,
             delivered=dt.date(2026, 11, 3), rate="5.00")  # fmt: skip
    Claim.objects.create(merchant=w.merchant, order=market, kind="damaged_in_transit", resolution="refund",
                         reason="crushed box", status="approved", created_by="csr")  # fmt: skip

    wrong = b.order("R", status="delivered", quantities=[1])
    b.fulfil(
        wrong, w.n1, {1: 1}, decision=b.decision(wrong, "allocated"), ship_hours=20, delivered=dt.date(2026, 11, 4)
    )
    b.give_back(a, "too_small", 1)
    b.give_back(wrong, "wrong_item", 1)
    b.give_back(late, "too_small", 1, status="rejected")
    return w
