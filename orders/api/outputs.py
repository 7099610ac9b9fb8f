"""Response bodies of the order API."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms.api.base import ModelSerializer
from orders.api.payments_out import FraudDecisionOut, RefundOut
from orders.fraud.models import FraudDecision
from orders.models import Hold, Order, OrderEvent, OrderLine, Payment
from orders.validation import currency_precision


class AllocationOut(serializers.Serializer):
    node = serializers.CharField()
    quantity = serializers.IntegerField()


# Fulfilment orders in these states no longer hold units for the line.
_CLOSED_FULFILMENT = ("rejected", "cancelled")


class LineOut(ModelSerializer):
    id = serializers.IntegerField(read_only=True)
    quantities = serializers.SerializerMethodField()
    allocations = serializers.SerializerMethodField()
    backordered = serializers.IntegerField(source="qty_backordered", read_only=True)

    class Meta:
        model = OrderLine
        fields = [
            "id", "position", "sku", "name", "bundle", "unit_price", "discount", "tax", "quantity", "quantities",
            "allocations", "backordered",
        ]  # fmt: skip

    @extend_schema_field(AllocationOut(many=True))
    def get_allocations(self, line: OrderLine) -> list[dict[str, Any]]:
        """Units reserved at each node for this line (routing's fulfilment orders), by node code."""
        if self.context.get("just_captured"):
            return []  # routing has not seen the order yet
        per_node: dict[str, int] = {}
        for fo_line in line.fulfillment_lines.all():  # type: ignore[attr-defined]
            fo = fo_line.fulfillment_order
            held = fo_line.quantity - fo_line.qty_cancelled - fo_line.qty_shipped
            if fo.status not in _CLOSED_FULFILMENT and held > 0:
                per_node[fo.node.code] = per_node.get(fo.node.code, 0) + held
        return [{"node": code, "quantity": quantity} for code, quantity in sorted(per_node.items())]

    def get_quantities(self, line: OrderLine) -> dict[str, int]:
        return {
            "ordered": line.quantity,
            "cancelled": line.qty_cancelled,
            "open": line.qty_open,
            "allocated": line.qty_allocated,
            "backordered": line.qty_backordered,
            "shipped": line.qty_shipped,
            "delivered": line.qty_delivered,
            "returned": line.qty_returned,
        }


class PaymentOut(ModelSerializer):
    class Meta:
        model = Payment
        fields = [
            "id", "gateway", "transaction_type", "status", "amount", "currency", "authorized_amount",
            "captured_amount", "refunded_amount", "voided_amount", "authorization_expires_at",
        ]  # fmt: skip

    MONEY = ("amount", "authorized_amount", "captured_amount", "refunded_amount", "voided_amount")


class HoldOut(ModelSerializer):
    open = serializers.BooleanField(source="is_open")

    class Meta:
        model = Hold
        fields = [
            "id",
            "type",
            "reason",
            "open",
            "created_by",
            "created_at",
            "resolved_by",
            "resolved_at",
            "resolution_note",
        ]


class EventOut(ModelSerializer):
    actor = serializers.CharField(source="actor_label")

    class Meta:
        model = OrderEvent
        fields = ["name", "from_status", "to_status", "reason", "actor", "actor_kind", "created_at", "payload"]


class OrderSummaryOut(ModelSerializer):
    channel = serializers.CharField(source="channel.code")
    customer = serializers.SerializerMethodField()
    fulfillment = serializers.SerializerMethodField()
    shipping = serializers.SerializerMethodField()
    lines = LineOut(many=True)
    payments = PaymentOut(many=True)
    holds = HoldOut(many=True)

    class Meta:
        model = Order
        fields = [
            "number", "external_id", "channel_order_name", "channel", "status", "placed_at", "created_at", "currency",
            "customer", "shipping_address", "billing_address", "shipping", "fulfillment",
            "promise_date", "notes", "total", "lines", "payments", "holds",
        ]  # fmt: skip

    def to_representation(self, order: Order) -> dict[str, Any]:
        data = super().to_representation(order)
        places = Decimal(1).scaleb(-currency_precision(order.currency))

        def fmt(value: Any) -> str:
            return str(Decimal(value).quantize(places))

        data["total"] = fmt(data["total"])
        data["shipping"] = {**data["shipping"], "price": fmt(order.shipping_price), "tax": fmt(order.shipping_tax)}
        for line in data["lines"]:
            for name in ("unit_price", "discount", "tax"):
                line[name] = fmt(line[name])
        for payment in data["payments"]:
            for name in PaymentOut.MONEY:
                payment[name] = fmt(payment[name])
        return data

    def get_customer(self, order: Order) -> dict[str, str]:
        return {
            "email": order.email,
            "phone": order.phone,
            "first_name": order.first_name,
            "last_name": order.last_name,
        }

    def get_fulfillment(self, order: Order) -> dict[str, Any]:
        data: dict[str, Any] = {"type": order.fulfillment_type}
        if order.pickup_node_id:
            data["location"] = order.pickup_node.code  # type: ignore[union-attr]
        return data

    def get_shipping(self, order: Order) -> dict[str, Any]:
        return {
            "service_level": order.service_level,
            "price": str(order.shipping_price),
            "tax": str(order.shipping_tax),
        }


# Sections later apps add to the order body from their AppConfig.ready() (fulfilment orders and
# shipments, say): name -> render(order) -> JSON-ready list. Orders never imports those apps. An
# order just captured has nothing in any of them yet: its 201 shows each as [] without asking.
ORDER_OUTPUT_SECTIONS: dict[str, Callable[[Order], Any]] = {}


class OrderOut(OrderSummaryOut):
    timeline = EventOut(source="events", many=True)
    refunds = RefundOut(many=True, read_only=True)
    fraud = serializers.SerializerMethodField()

    class Meta(OrderSummaryOut.Meta):
        fields = [*OrderSummaryOut.Meta.fields, "refunds", "fraud", "timeline"]

    def to_representation(self, order: Order) -> dict[str, Any]:
        data = super().to_representation(order)
        for name, render in ORDER_OUTPUT_SECTIONS.items():
            data[name] = [] if self.context.get("just_captured") else render(order)
        return data

    def get_fraud(self, order: Order) -> dict[str, Any] | None:
        try:
            decision = order.fraud_decision  # select_related by order_get
        except FraudDecision.DoesNotExist:
            return None
        return FraudDecisionOut(decision).data


class CancelPreviewOut(serializers.Serializer):
    """Amounts as strings at the currency's precision."""

    currency = serializers.CharField()
    value = serializers.CharField(help_text="The value of the units cancelled (with their tax).")
    refund = serializers.CharField(help_text="Captured money that goes back.")
    void = serializers.CharField(help_text="Authorized money released (a whole-order cancellation).")
    whole = serializers.BooleanField(help_text="Whether nothing would be left of the order.")

    def to_representation(self, instance: Any) -> dict[str, Any]:
        places = Decimal(1).scaleb(-currency_precision(instance["currency"]))
        return {**instance, **{k: str(Decimal(instance[k]).quantize(places)) for k in ("value", "refund", "void")}}
