"""Shipments (one per parcel), their lines and documents, and the carrier's tracking events."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from fulfillment.carriers.models import Carrier, CarrierService, Milestone

__all__ = ["MILESTONE_RANK", "Shipment", "ShipmentDocument", "ShipmentLine", "TrackingEvent"]

# How far along a parcel is. An event never moves a shipment to a lower rank (events arrive out
# of order); `exception` is recorded but does not move it at all.
MILESTONE_RANK = {
    Milestone.LABEL_CREATED: 0,
    Milestone.CARRIER_PICKUP: 1,
    Milestone.IN_TRANSIT: 2,
    Milestone.EXCEPTION: 2,
    Milestone.OUT_FOR_DELIVERY: 3,
    Milestone.AVAILABLE_FOR_PICKUP: 3,
    Milestone.DELIVERED: 5,
    Milestone.RETURNED_TO_SENDER: 5,
}


class Shipment(models.Model):
    fulfillment_order = models.ForeignKey(
        "fulfillment.FulfillmentOrder", on_delete=models.CASCADE, related_name="shipments"
    )
    order = models.ForeignKey("orders.Order", on_delete=models.CASCADE, related_name="shipments")
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="shipments")
    service = models.ForeignKey(CarrierService, on_delete=models.PROTECT, related_name="shipments")
    tracking_number = models.CharField(max_length=40)
    # The carrier's own id of the shipment (HTTP carriers: for voiding and tracking).
    carrier_reference = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=25, choices=Milestone.choices, default=Milestone.LABEL_CREATED)
    weight_kg = models.DecimalField(max_digits=8, decimal_places=3)
    billable_weight_kg = models.DecimalField(max_digits=8, decimal_places=3)
    rate = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    estimated_delivery = models.DateField(null=True, blank=True)
    promise_date = models.DateField(null=True, blank=True)
    # Rate shopping: every quote considered, the policy, and why this one.
    quotes = models.JSONField(default=list, blank=True)
    policy = models.CharField(max_length=20, blank=True)
    choice_reason = models.TextField(blank=True)
    shipped_at = models.DateTimeField(auto_now_add=True)
    first_scan_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    on_time = models.BooleanField(null=True, blank=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    # Carriers that do not push events are asked (adapter.track) by a beat job; when it last did.
    polled_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    # Set when the carrier-miss exception was raised: once per shipment.
    carrier_miss_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "tracking_number"], name="shipment_tracking_number_once")
        ]
        indexes = [
            models.Index(
                fields=["shipped_at"],
                name="shipment_carrier_miss_due",
                condition=Q(carrier_miss_alerted_at__isnull=True, delivered_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier.code} {self.tracking_number}"

    @property
    def units(self) -> int:
        return sum(line.quantity for line in self.lines.all())


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    fulfillment_line = models.ForeignKey(
        "fulfillment.FulfillmentOrderLine", on_delete=models.CASCADE, related_name="shipment_lines"
    )
    order_line = models.ForeignKey("orders.OrderLine", on_delete=models.CASCADE, related_name="shipment_lines")
    quantity = models.PositiveIntegerField()

    class Meta:
        ordering = ["shipment", "id"]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"


class ShipmentDocument(models.Model):
    """A stored document of a shipment: the 4×6 label (PDF and ZPL) and the packing slip."""

    class Kind(models.TextChoices):
        LABEL_PDF = "label_pdf", "Label (PDF)"
        LABEL_ZPL = "label_zpl", "Label (ZPL)"
        PACKING_SLIP = "packing_slip", "Packing slip (PDF)"

    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=15, choices=Kind.choices)
    content_type = models.CharField(max_length=60)
    content = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shipment", "kind"], name="shipment_document_once")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.shipment}"

    @property
    def filename(self) -> str:
        ext = {"label_pdf": "pdf", "label_zpl": "zpl", "packing_slip": "pdf"}[self.kind]
        return f"{self.shipment.tracking_number}-{self.kind.replace('_', '-')}.{ext}"


class TrackingEvent(models.Model):
    # Empty for a parcel that is not a shipment (a return label): a tracking hook claimed it.
    shipment = models.ForeignKey(Shipment, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    tracking_number = models.CharField(max_length=40, blank=True)
    carrier = models.ForeignKey(Carrier, on_delete=models.PROTECT, related_name="+")
    event_id = models.CharField(max_length=100)
    carrier_status = models.CharField(max_length=60)
    milestone = models.CharField(max_length=25, choices=Milestone.choices)
    occurred_at = models.DateTimeField()
    location = models.CharField(max_length=200, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["shipment", "occurred_at", "id"]
        constraints = [models.UniqueConstraint(fields=["carrier", "event_id"], name="tracking_event_once")]

    def __str__(self) -> str:
        return f"{self.milestone} {self.occurred_at:%Y-%m-%d %H:%M}"
