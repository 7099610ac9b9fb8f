"""Request and response bodies of the returns API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from oms.api.base import ModelSerializer, StrictSerializer
from oms.api.fields import MoneyField, StrictBooleanField, StrictCharField, StrictIntegerField
from orders.api.payments_out import MoneyOut, RefundOut
from orders.payments.gateways import gateway_codes
from returns.models import Appeasement, Claim, Exchange, Grade, Return, ReturnEvent, ReturnLine, ReturnUnit
from returns.services.requests import label_url

# --- in ---------------------------------------------------------------------------------------


class ReturnLineIn(StrictSerializer):
    line = StrictIntegerField(required=False, help_text="Order line id; or name the SKU.")
    sku = StrictCharField(max_length=64, required=False)
    quantity = StrictIntegerField(min_value=1)
    reason = StrictCharField(max_length=40, help_text="One of the merchant's reason codes.")
    condition = StrictCharField(max_length=20, required=False, allow_blank=True,
                                help_text="unopened | like_new (anything else goes to a CSR first)")  # fmt: skip
    note = StrictCharField(max_length=500, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "line" not in attrs and "sku" not in attrs:
            raise serializers.ValidationError({"line": "Name the order line (line) or its SKU (sku)."})
        return attrs


class ExchangeLineIn(StrictSerializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1)
    unit_price = MoneyField(help_text="The replacement's price, tax included.")


class TokenIn(StrictSerializer):
    gateway = StrictCharField(max_length=30)
    token = StrictCharField(max_length=255, help_text="A gateway token; never a card number.")

    def validate_gateway(self, value: str) -> str:
        if value not in gateway_codes():
            raise serializers.ValidationError(f"Unknown gateway; one of {', '.join(gateway_codes())}.")
        return value


class ExchangeIn(StrictSerializer):
    lines = ExchangeLineIn(many=True, allow_empty=False)
    payment = TokenIn(required=False, help_text="For a positive difference, and the hold of an advance exchange.")
    advance = StrictBooleanField(required=False, help_text="Ship the replacement before the return arrives.")


class ReturnIn(StrictSerializer):
    order = StrictCharField(max_length=32, help_text="The order number.")
    lines = ReturnLineIn(many=True, allow_empty=False)
    method = serializers.ChoiceField(choices=Return.Method.choices)
    node = StrictCharField(max_length=40, required=False, help_text="The store, for an in-store return.")
    exchange = ExchangeIn(required=False, help_text="Replacement lines: an exchange instead of a refund.")


class ReasonIn(StrictSerializer):
    reason = StrictCharField(max_length=500)


class OptionalReasonIn(StrictSerializer):
    reason = StrictCharField(max_length=500, required=False, allow_blank=True)


class ReceiveIn(StrictSerializer):
    scans = serializers.ListField(child=StrictCharField(max_length=64), allow_empty=True,
                                  help_text="One barcode (or SKU) per unit that came back.")  # fmt: skip


class GradeIn(StrictSerializer):
    unit = StrictIntegerField()
    grade = serializers.ChoiceField(choices=Grade.choices)
    accept = StrictBooleanField(required=False, help_text="false: refuse the refund of this unit.")
    note = StrictCharField(max_length=300, required=False, allow_blank=True)


class InspectIn(StrictSerializer):
    grades = GradeIn(many=True, allow_empty=False)


class AppeasementIn(StrictSerializer):
    amount = MoneyField(min_value=Decimal("0.01"))
    reason = StrictCharField(max_length=500)


# --- out --------------------------------------------------------------------------------------


class ReturnUnitOut(ModelSerializer):
    class Meta:
        model = ReturnUnit
        fields = ["id", "receipt", "acceptance", "acceptance_reason", "scanned_sku", "grade", "disposition",
                  "disposition_node", "received_at", "inspected_at"]  # fmt: skip

    disposition_node = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)


class ReturnLineOut(ModelSerializer):
    line = serializers.IntegerField(source="order_line_id")
    sku = serializers.CharField(source="order_line.sku")
    reason = serializers.CharField(source="reason.code")
    units = ReturnUnitOut(many=True)

    class Meta:
        model = ReturnLine
        fields = ["id", "line", "sku", "quantity", "reason", "condition", "note", "units"]


class ReturnEventOut(ModelSerializer):
    class Meta:
        model = ReturnEvent
        fields = ["name", "from_status", "to_status", "reason", "actor_label", "payload", "created_at"]


class ExchangeOut(MoneyOut):
    money_fields = ("returned_value", "replacement_value", "difference")
    replacement_order = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)

    class Meta:
        model = Exchange
        fields = ["lines", "returned_value", "replacement_value", "difference", "advance", "replacement_order",
                  "capture_due_at", "hold_settled"]  # fmt: skip


class ReturnOut(ModelSerializer):
    order = serializers.CharField(source="order.number")
    node = serializers.CharField(source="node.code")
    carrier = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    label_url = serializers.SerializerMethodField()
    lines = ReturnLineOut(many=True)
    refund = RefundOut(read_only=True, allow_null=True)
    exchange = serializers.SerializerMethodField()

    class Meta:
        model = Return
        fields = ["id", "number", "order", "status", "method", "node", "carrier", "tracking_number", "label_url",
                  "decision_reason", "lines", "refund", "exchange", "created_at", "status_changed_at"]  # fmt: skip

    def get_exchange(self, rma: Return) -> dict[str, Any] | None:
        exchange = Exchange.objects.filter(rma=rma).select_related("replacement_order").first()
        return ExchangeOut(exchange).data if exchange else None

    def get_label_url(self, rma: Return) -> str | None:
        return label_url(rma) if rma.tracking_number else None


class ReturnDetailOut(ReturnOut):
    timeline = ReturnEventOut(source="events", many=True)

    class Meta(ReturnOut.Meta):
        fields = [*ReturnOut.Meta.fields, "timeline"]


def order_returns(order: Any) -> list[dict[str, Any]]:
    """The order body's `returns` section (orders.api.outputs.ORDER_OUTPUT_SECTIONS)."""
    from returns.selectors import returns_of_order

    # Only delivered units can be returned: an order with none (every order at capture) has no
    # returns, and its lines are already loaded, so this costs no query.
    if not any(line.qty_delivered for line in order.lines.all()):
        return []
    return ReturnOut(returns_of_order(order), many=True).data


class ClaimLineIn(StrictSerializer):
    line = StrictIntegerField(required=False)
    sku = StrictCharField(max_length=64, required=False)
    quantity = StrictIntegerField(min_value=1)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "line" not in attrs and "sku" not in attrs:
            raise serializers.ValidationError({"line": "Name the order line (line) or its SKU (sku)."})
        return attrs


class ClaimIn(StrictSerializer):
    order = StrictCharField(max_length=32)
    kind = serializers.ChoiceField(choices=Claim.Kind.choices)
    resolution = serializers.ChoiceField(choices=Claim.Resolution.choices)
    lines = ClaimLineIn(many=True, allow_empty=False)
    reason = StrictCharField(max_length=1000)


class ClaimOut(MoneyOut):
    order = serializers.CharField(source="order.number")
    replacement_order = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    refund = RefundOut(read_only=True, allow_null=True)

    class Meta:
        model = Claim
        fields = ["id", "order", "kind", "resolution", "reason", "lines", "amount", "level", "status", "refund",
                  "replacement_order", "created_by", "decided_by", "created_at", "decided_at"]  # fmt: skip


class AppeasementOut(MoneyOut):
    order = serializers.CharField(source="order.number")
    refund = RefundOut(read_only=True, allow_null=True)

    class Meta:
        model = Appeasement
        fields = ["id", "order", "amount", "reason", "level", "status", "refund", "created_by", "decided_by",
                  "created_at", "decided_at"]  # fmt: skip
