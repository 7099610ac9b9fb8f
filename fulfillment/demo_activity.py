"""Demo activity for every fulfilment screen: node profiles and keys, routing rules, a few demo
orders worked through pick, pack and ship with carrier tracking (one delivered, one never
scanned), a pick delay. Runs after the demo orders were routed; idempotent."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from fulfillment.carriers.models import CarrierStatusCode, Milestone
from fulfillment.execution.jobs import pick_delays_detect
from fulfillment.execution.models import NodeApiKey, NodeProfile
from fulfillment.execution.node import fulfillment_order_accept, fulfillment_order_pack, fulfillment_order_pick
from fulfillment.execution.node_keys import node_key_issue
from fulfillment.execution.shipping import fulfillment_order_ship
from fulfillment.models import FulfillmentOrder, FulfillmentStatus
from fulfillment.routing.models import ShippingZoneRate, SkuNodeRule
from fulfillment.tracking.models import Shipment
from fulfillment.tracking.services import carrier_misses_detect, tracking_event_record
from inventory.models import Node, Product
from oms.actors import Actor
from oms.models import Merchant

_SYSTEM = Actor.system("seed_demo")
# How far each shipped demo order gets: the first is delivered.
JOURNEYS = [
    [Milestone.IN_TRANSIT, Milestone.OUT_FOR_DELIVERY, Milestone.DELIVERED],
    [Milestone.IN_TRANSIT, Milestone.OUT_FOR_DELIVERY],
    [Milestone.IN_TRANSIT],
    [],  # labelled, never scanned: a carrier miss
]
PLACES = ["Edison NJ hub", "Regional sort centre", "Local delivery station"]


def seed_fulfillment_activity(merchant: Merchant) -> None:
    nodes = {n.code: n for n in Node.objects.filter(merchants=merchant)}
    NodeProfile.objects.get_or_create(node=nodes["DC-EAST"], defaults={"pick_sla_hours": 24})
    if not NodeApiKey.objects.filter(node=nodes["DC-WEST"]).exists():
        node_key_issue(node=nodes["DC-WEST"], name="demo wms")
    steel = Product.objects.filter(merchant=merchant, sku="BOTTLE-STEEL").first()
    if steel is not None:
        SkuNodeRule.objects.get_or_create(product=steel, node=nodes["STORE-SF"],
                                          defaults={"note": "Display stock only: never routed"})  # fmt: skip
    ShippingZoneRate.objects.get_or_create(merchant=merchant, service_level="next_day", zone=8,
                                           defaults={"cost": Decimal("39.00"), "transit_days": 1})  # fmt: skip
    if Shipment.objects.filter(order__merchant=merchant).exists():
        return
    shipping = FulfillmentOrder.objects.filter(
        order__merchant=merchant, order__fulfillment_type="ship", status=FulfillmentStatus.RELEASED,
        node__type=Node.Type.DC,
    ).order_by("order__placed_at", "pk")  # fmt: skip
    for fo, journey in zip(list(shipping[: len(JOURNEYS)]), JOURNEYS, strict=False):
        _ship(fo, journey)
    # One fulfilment order released two days ago and never picked (a pick delay), and the label
    # never scanned (a carrier miss, as the job sees it three days on).
    late = FulfillmentOrder.objects.filter(order__merchant=merchant, status=FulfillmentStatus.RELEASED).first()
    if late is not None:
        FulfillmentOrder.objects.filter(pk=late.pk).update(released_at=timezone.now() - timedelta(days=2))
        pick_delays_detect()
    carrier_misses_detect(now=timezone.now() + timedelta(days=3))


def _ship(fo: FulfillmentOrder, journey: list[str]) -> None:
    fulfillment_order_accept(fulfillment_order=fo, actor=_SYSTEM)
    fulfillment_order_pick(fulfillment_order=fo, actor=_SYSTEM)
    scans = [line.order_line.product.barcode for line in fo.lines.select_related("order_line__product")
             for _ in range(line.qty_to_ship)]  # fmt: skip
    fulfillment_order_pack(fulfillment_order=fo, scans=scans, actor=_SYSTEM)
    start = timezone.now()
    for shipment in fulfillment_order_ship(fulfillment_order=fo, actor=_SYSTEM):
        for step, milestone in enumerate(journey):
            code = CarrierStatusCode.objects.filter(carrier=shipment.carrier, milestone=milestone).first()
            number = shipment.tracking_number
            tracking_event_record(
                carrier=shipment.carrier,
                data={"event_id": f"demo-{number}-{step}", "tracking_number": number,
                      "status": code.code if code else milestone, "occurred_at": start + timedelta(minutes=step + 1),
                      "location": PLACES[min(step, len(PLACES) - 1)]},
            )  # fmt: skip
