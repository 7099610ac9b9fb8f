"""Read queries of fulfilment: fulfilment orders for nodes, shipments and the tracking feed."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Case, F, IntegerField, Prefetch, QuerySet, Value, When

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from fulfillment.tracking.models import Shipment, ShipmentDocument, TrackingEvent
from inventory.models import Node, StockLevel
from oms.errors import InvalidInput, NotFound
from oms.models import Merchant
from orders.models import Order


class FulfillmentOrderFilter(django_filters.FilterSet):
    order = django_filters.CharFilter(field_name="order__number", help_text="Order number")
    node = django_filters.CharFilter(field_name="node__code", help_text="Node code")
    status = django_filters.MultipleChoiceFilter(choices=FulfillmentStatus.choices)

    class Meta:
        model = FulfillmentOrder
        fields = ["order", "node", "status"]


def _with_details(qs: QuerySet[FulfillmentOrder]) -> QuerySet[FulfillmentOrder]:
    return qs.select_related("order", "node").prefetch_related(
        Prefetch("lines", FulfillmentOrderLine.objects.select_related("order_line__product")),
        Prefetch(
            "shipments",
            Shipment.objects.select_related("carrier", "service").prefetch_related("lines__order_line"),
        ),
    )


def _scoped(merchant: Merchant | None, node: Node | None) -> QuerySet[FulfillmentOrder]:
    """A merchant's fulfilment orders, or (a node's own key) every one at the node."""
    if (merchant is None) == (node is None):
        raise ValueError("scope by merchant or by node")
    return (
        FulfillmentOrder.objects.filter(order__merchant=merchant)
        if merchant
        else FulfillmentOrder.objects.filter(node=node)
    )


def fulfillment_order_list(
    *, merchant: Merchant | None = None, node: Node | None = None, filters: Any = None
) -> QuerySet[FulfillmentOrder]:
    qs = _with_details(_scoped(merchant, node)).order_by("-id")
    filterset = FulfillmentOrderFilter(filters or {}, queryset=qs)
    if not filterset.is_valid():
        raise InvalidInput.from_form_errors(filterset.errors)
    return filterset.qs


def fulfillment_order_get(*, merchant: Merchant | None = None, node: Node | None = None, id: int) -> FulfillmentOrder:
    """A fulfilment order of this merchant (or at this node); anyone else's is NotFound."""
    found = _with_details(_scoped(merchant, node).filter(pk=id)).first()
    if found is None:
        raise NotFound(f"No fulfilment order {id}.")
    return found


def fulfillment_orders_of(order: Order) -> list[FulfillmentOrder]:
    return list(_with_details(FulfillmentOrder.objects.filter(order=order)).order_by("pk"))


def shipment_document_get(
    *, merchant: Merchant | None = None, node: Node | None = None, shipment_id: int, kind: str
) -> ShipmentDocument:
    fos = _scoped(merchant, node)
    found = (
        ShipmentDocument.objects.filter(shipment_id=shipment_id, shipment__fulfillment_order__in=fos, kind=kind)
        .select_related("shipment")
        .first()
    )
    if found is None:
        raise NotFound(f"No such document for shipment {shipment_id}.")
    return found


def order_shipments(*, order: Order) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(order=order)
        .select_related("carrier", "service", "fulfillment_order__node")
        .prefetch_related("lines__order_line", Prefetch("events", TrackingEvent.objects.order_by("occurred_at", "id")))
        .order_by("pk")
    )


def order_tracking(*, merchant: Merchant, number: str) -> tuple[Order, QuerySet[Shipment]]:
    order = Order.objects.filter(merchant=merchant, number=number).first()
    if order is None:
        raise NotFound(f"No order {number}.")
    return order, order_shipments(order=order)


def shipment_tracking_matches(term: str) -> QuerySet[Any]:
    """The ids of orders with a shipment whose tracking number contains `term` (order search)."""
    return Shipment.objects.filter(tracking_number__icontains=term).values("order_id")


# The most urgent service first: it leaves earliest on the carrier's collection.
SERVICE_URGENCY = ["next_day", "express", "pickup", "standard"]


SERVICE_RANK = Case(
    *(When(order__service_level=level, then=Value(i)) for i, level in enumerate(SERVICE_URGENCY)),
    default=Value(len(SERVICE_URGENCY)),
    output_field=IntegerField(),
)
# The order a node works its fulfilment orders in: its cut-off, then the most urgent service, the
# earliest promise date, the oldest release (the Warehouse queue's default ordering).
WAREHOUSE_ORDERING = [
    F("node__cutoff_time").asc(nulls_last=True),
    SERVICE_RANK.asc(),
    F("order__promise_date").asc(nulls_last=True),
    F("released_at").asc(nulls_last=True),
    "pk",
]


def bins_of(fo: FulfillmentOrder, lines: list[FulfillmentOrderLine]) -> list[str]:
    """The bin of each line's SKU at the fulfilment order's node ("" where none is recorded)."""
    bins = dict(
        StockLevel.objects.filter(
            node_id=fo.node_id, product_id__in=[line.order_line.product_id for line in lines]
        ).values_list("product_id", "bin_location")
    )
    return [bins.get(line.order_line.product_id, "") for line in lines]
