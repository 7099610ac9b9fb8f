"""Request and response bodies of the fulfilment API (nodes, shipments, tracking)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.urls import reverse
from rest_framework import serializers

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from fulfillment.selectors import fulfillment_orders_of
from fulfillment.tracking.models import Shipment, TrackingEvent
from fulfillment.tracking.services import TRACKING_AHEAD
from oms.api.base import ModelSerializer, StrictSerializer
from oms.api.fields import BoundedDateTimeField, StrictCharField, StrictIntegerField

# Inputs


class NoBodyIn(StrictSerializer):
    """Actions without parameters refuse any field (a typo must not pass silently)."""


class RejectIn(StrictSerializer):
    reason = StrictCharField(max_length=500)


class PickedLineIn(StrictSerializer):
    line = StrictIntegerField(help_text="Fulfilment-order line id")
    picked = StrictIntegerField(min_value=0)


class PickIn(StrictSerializer):
    lines = PickedLineIn(many=True, required=False, allow_empty=False,
                         help_text="Only for a short pick: the lines with fewer units than asked.")  # fmt: skip


class PackIn(StrictSerializer):
    scans = serializers.ListField(
        child=StrictCharField(max_length=64), allow_empty=False, max_length=10000,
        help_text="One barcode per unit scanned.",
    )  # fmt: skip


class ParcelLineIn(StrictSerializer):
    line = StrictIntegerField(help_text="Fulfilment-order line id")
    quantity = StrictIntegerField(min_value=1)


class ParcelIn(StrictSerializer):
    lines = ParcelLineIn(many=True, allow_empty=False)
    weight_kg = serializers.DecimalField(max_digits=8, decimal_places=3, min_value=Decimal("0.001"), required=False)


class ShipIn(StrictSerializer):
    parcels = ParcelIn(many=True, required=False, allow_empty=False)


class TrackingEventIn(StrictSerializer):
    event_id = StrictCharField(max_length=100)
    carrier = StrictCharField(max_length=30)
    tracking_number = StrictCharField(max_length=40)
    status = StrictCharField(max_length=60, help_text="The carrier's code or one of our milestones.")
    occurred_at = BoundedDateTimeField(ahead=TRACKING_AHEAD)
    location = StrictCharField(max_length=200, required=False, allow_blank=True)


class EasyPostLocationIn(serializers.Serializer):
    city = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    state = StrictCharField(max_length=100, required=False, allow_null=True, allow_blank=True)


class EasyPostDetailIn(serializers.Serializer):
    status = StrictCharField(max_length=60)
    datetime = StrictCharField(max_length=40)
    tracking_location = EasyPostLocationIn(required=False, allow_null=True)


class EasyPostResultIn(serializers.Serializer):
    id = StrictCharField(max_length=100, required=False)
    tracking_code = StrictCharField(max_length=40)
    tracking_details = EasyPostDetailIn(many=True, max_length=500)


class EasyPostEventIn(serializers.Serializer):
    """The shape of an EasyPost-style tracker event, checked before anything reads it (fields we
    do not use are allowed: the carrier sends many)."""

    result = EasyPostResultIn()


# Outputs


class FulfillmentLineOut(ModelSerializer):
    order_line = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    name = serializers.CharField(source="order_line.name")
    barcodes = serializers.ListField(source="order_line.product.all_barcodes", child=serializers.CharField())
    picked = serializers.IntegerField(source="qty_picked")
    shipped = serializers.IntegerField(source="qty_shipped")
    cancelled = serializers.IntegerField(source="qty_cancelled")
    open = serializers.IntegerField(source="qty_open")

    class Meta:
        model = FulfillmentOrderLine
        fields = ["id", "order_line", "sku", "name", "barcodes", "quantity", "picked", "shipped", "cancelled", "open"]


def document_urls(shipment: Shipment) -> dict[str, str]:
    return {
        "label_url": reverse("shipment-label-pdf", args=[shipment.pk]),
        "label_zpl_url": reverse("shipment-label-zpl", args=[shipment.pk]),
        "packing_slip_url": reverse("shipment-packing-slip", args=[shipment.pk]),
    }


class ShipmentOut(ModelSerializer):
    carrier = serializers.CharField(source="carrier.code")
    carrier_name = serializers.CharField(source="carrier.name")
    service = serializers.CharField(source="service.code")
    service_name = serializers.CharField(source="service.name")
    urls = serializers.SerializerMethodField()
    lines = serializers.SerializerMethodField()

    class Meta:
        model = Shipment
        fields = [
            "id", "fulfillment_order", "carrier", "carrier_name", "service", "service_name", "tracking_number",
            "status", "weight_kg", "billable_weight_kg", "rate", "currency", "estimated_delivery", "promise_date",
            "policy", "choice_reason", "shipped_at", "delivered_at", "on_time", "urls", "lines",
        ]  # fmt: skip

    def get_urls(self, shipment: Shipment) -> dict[str, str]:
        return document_urls(shipment)

    def get_lines(self, shipment: Shipment) -> list[dict[str, Any]]:
        return [
            {"line": line.fulfillment_line_id, "order_line": line.order_line_id, "sku": line.order_line.sku,
             "quantity": line.quantity}
            for line in shipment.lines.all()
        ]  # fmt: skip


class FulfillmentOrderOut(ModelSerializer):
    order = serializers.CharField(source="order.number")
    node = serializers.CharField(source="node.code")
    fulfillment_type = serializers.CharField(source="order.fulfillment_type")
    cancel_request = serializers.SerializerMethodField()
    pack = serializers.SerializerMethodField()
    lines = FulfillmentLineOut(many=True)
    shipments = ShipmentOut(many=True)

    class Meta:
        model = FulfillmentOrder
        fields = [
            "id", "order", "node", "status", "fulfillment_type", "created_at", "released_at", "accepted_at",
            "picked_at", "packed_at", "shipped_at", "ready_for_pickup_at", "picked_up_at", "closed_at",
            "rejection_reason", "cancel_request", "pack", "lines", "shipments",
        ]  # fmt: skip

    def get_cancel_request(self, fo: FulfillmentOrder) -> dict[str, Any] | None:
        if fo.cancel_requested_at is None:
            return None
        return {"requested_at": fo.cancel_requested_at, **(fo.cancel_request or {})}

    def get_pack(self, fo: FulfillmentOrder) -> dict[str, Any]:
        return {"attempts": fo.pack_attempts, "corrected": fo.pack_corrected}


class TrackingEventOut(ModelSerializer):
    class Meta:
        model = TrackingEvent
        fields = ["milestone", "carrier_status", "occurred_at", "location"]


class TrackedShipmentOut(ModelSerializer):
    carrier = serializers.CharField(source="carrier.name")
    service = serializers.CharField(source="service.name")
    items = serializers.SerializerMethodField()
    history = TrackingEventOut(source="events", many=True)

    class Meta:
        model = Shipment
        fields = ["tracking_number", "carrier", "service", "status", "shipped_at", "estimated_delivery",
                  "delivered_at", "items", "history"]  # fmt: skip

    def get_items(self, shipment: Shipment) -> list[dict[str, Any]]:
        return [
            {"sku": line.order_line.sku, "name": line.order_line.name, "quantity": line.quantity}
            for line in shipment.lines.all()
        ]


class OrderTrackingOut(serializers.Serializer):
    order = serializers.CharField()
    status = serializers.CharField()
    promise_date = serializers.DateField(allow_null=True)
    shipments = TrackedShipmentOut(many=True)


def order_fulfillment_orders(order: Any) -> list[dict[str, Any]]:
    """The order body's `fulfillment_orders` section (orders.api.outputs.ORDER_OUTPUT_SECTIONS)."""
    return FulfillmentOrderOut(fulfillment_orders_of(order), many=True).data
