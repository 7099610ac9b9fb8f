"""Request bodies of the order API, validated field by field (unknown fields refused)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from oms.api.base import StrictSerializer
from oms.api.fields import BoundedDateField, BoundedDateTimeField, MoneyField, StrictCharField, StrictIntegerField
from oms.errors import FieldError
from oms.money import fmt_money
from orders.models import FulfillmentType, Payment, ServiceLevel
from orders.payments.services import gateway_errors
from orders.validation import (
    check_fulfillment,
    computed_total,
    currency_errors,
    money_errors,
    normalize_address_fields,
    normalize_phone,
)


def _raise(errors: list[FieldError]) -> None:
    if errors:
        detail: dict[str, Any] = {}
        for error in errors:
            detail.setdefault(error.field or "non_field_errors", []).append(
                serializers.ErrorDetail(error.message, code=error.code)
            )
        raise serializers.ValidationError(_nest(detail))


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    """{"a.b": [...]} -> {"a": {"b": [...]}} so DRF's error paths stay structured."""
    out: dict[str, Any] = {}
    for path, value in flat.items():
        parts = path.split(".")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


class AddressIn(StrictSerializer):
    first_name = StrictCharField(max_length=100)
    last_name = StrictCharField(max_length=100)
    company = StrictCharField(max_length=100, required=False, allow_blank=True)
    line1 = StrictCharField(max_length=200)
    line2 = StrictCharField(max_length=200, required=False, allow_blank=True)
    city = StrictCharField(max_length=100, required=False, allow_blank=True)
    region = StrictCharField(max_length=50, required=False, allow_blank=True)
    postal_code = StrictCharField(max_length=20, required=False, allow_blank=True)
    country = StrictCharField(min_length=2, max_length=2)
    phone = StrictCharField(max_length=40, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        address, errors = normalize_address_fields(attrs, "")
        if attrs.get("phone"):
            address["phone"], phone_errors = normalize_phone(attrs["phone"], attrs["country"], "phone")
            errors += phone_errors
        _raise(errors)
        return address


class CustomerIn(StrictSerializer):
    email = serializers.EmailField(max_length=254)
    phone = StrictCharField(max_length=40, required=False, allow_blank=True)
    first_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    last_name = StrictCharField(max_length=100, required=False, allow_blank=True)


class LineIn(StrictSerializer):
    sku = StrictCharField(max_length=64)
    quantity = StrictIntegerField(min_value=1, max_value=100_000)
    unit_price = MoneyField()
    discount = MoneyField(required=False, default=Decimal(0))
    tax = MoneyField(required=False, default=Decimal(0))
    bundle = StrictCharField(max_length=64, required=False, allow_blank=True)


class ShippingIn(StrictSerializer):
    service_level = serializers.ChoiceField(choices=ServiceLevel.choices)
    price = MoneyField(required=False, default=Decimal(0))
    tax = MoneyField(required=False, default=Decimal(0))


class FulfillmentIn(StrictSerializer):
    type = serializers.ChoiceField(choices=FulfillmentType.choices)
    location = StrictCharField(max_length=40, required=False, help_text="Store node code, for pick-up.")


class PaymentIn(StrictSerializer):
    transaction_type = serializers.ChoiceField(choices=Payment.TransactionType.choices)
    gateway = StrictCharField(max_length=30)
    token = StrictCharField(max_length=255)
    amount = MoneyField()


def _phone_region(attrs: dict[str, Any]) -> str | None:
    for key in ("shipping_address", "billing_address"):
        if attrs.get(key):
            return str(attrs[key]["country"])
    return None


class OrderIn(StrictSerializer):
    channel = StrictCharField(max_length=40)
    external_id = StrictCharField(max_length=100)
    channel_order_name = StrictCharField(max_length=100, required=False, allow_blank=True)
    placed_at = BoundedDateTimeField()
    currency = StrictCharField(min_length=3, max_length=3)
    customer = CustomerIn()
    shipping_address = AddressIn(required=False, allow_null=True)
    billing_address = AddressIn(required=False, allow_null=True)
    lines = LineIn(many=True, allow_empty=False, max_length=500)
    shipping = ShippingIn()
    fulfillment = FulfillmentIn(required=False, default={"type": FulfillmentType.SHIP})
    payment = PaymentIn(required=False, help_text="Shorthand for a one-item `payments` list.")
    payments = PaymentIn(many=True, required=False, allow_empty=False, max_length=10)
    total = MoneyField()
    promise_date = BoundedDateField(required=False, allow_null=True)
    notes = StrictCharField(required=False, allow_blank=True, max_length=2000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        errors = currency_errors(attrs["currency"])
        shorthand = "payment" in attrs and "payments" not in attrs
        if "payment" in attrs and "payments" in attrs:
            errors.append(FieldError("payment", "invalid", "Send either `payment` or `payments`, not both."))
        attrs["payments"] = attrs.pop("payments", None) or ([attrs.pop("payment")] if "payment" in attrs else [])
        if not attrs["payments"]:
            errors.append(FieldError("payments", "required", "An order carries its payment (`payment` or `payments`)."))
        attrs.setdefault("shipping_address", None)
        attrs.setdefault("billing_address", None)
        errors += check_fulfillment(attrs)
        errors += gateway_errors(attrs["payments"], "payment" if shorthand else "payments")
        if not errors:
            errors += self._money(attrs, "payment" if shorthand else "payments")
        customer = attrs["customer"]
        if customer.get("phone"):
            customer["phone"], phone_errors = normalize_phone(customer["phone"], _phone_region(attrs), "customer.phone")
            errors += phone_errors
        _raise(errors)
        return attrs

    @staticmethod
    def _money(attrs: dict[str, Any], payments_field: str) -> list[FieldError]:
        currency = attrs["currency"]
        errors = []
        for i, line in enumerate(attrs["lines"]):
            for name in ("unit_price", "discount", "tax"):
                errors += money_errors(line[name], currency, f"lines[{i}].{name}")
        for name in ("price", "tax"):
            errors += money_errors(attrs["shipping"][name], currency, f"shipping.{name}")
        for i, payment in enumerate(attrs["payments"]):
            path = f"{payments_field}[{i}]" if payments_field == "payments" else payments_field
            errors += money_errors(payment["amount"], currency, f"{path}.amount")
        errors += money_errors(attrs["total"], currency, "total")
        if errors:
            return errors
        expected = computed_total(attrs["lines"], attrs["shipping"])
        if expected != attrs["total"]:
            return [
                FieldError(
                    "total",
                    "mismatch",
                    f"Declared total {fmt_money(attrs['total'], currency)} does not match "
                    f"the computed total {fmt_money(expected, currency)}.",
                )
            ]
        paid = sum((p["amount"] for p in attrs["payments"]), Decimal(0))
        if paid != attrs["total"]:
            return [
                FieldError(
                    payments_field,
                    "mismatch",
                    f"Payments add up to {fmt_money(paid, currency)}, "
                    f"not the order total {fmt_money(attrs['total'], currency)}.",
                )
            ]
        return []


class LineQuantityIn(StrictSerializer):
    line = StrictIntegerField(help_text="Line id as the order API shows it.")
    quantity = StrictIntegerField(min_value=0)


class CancelPreviewIn(StrictSerializer):
    lines = LineQuantityIn(many=True, required=False, allow_empty=False)

    def validate_lines(self, lines: list[dict[str, int]]) -> list[dict[str, int]]:
        for item in lines:
            if item["quantity"] < 1:
                raise serializers.ValidationError("Each quantity to cancel must be at least 1.", code="min_value")
        return lines


class CancelIn(CancelPreviewIn):
    reason = StrictCharField(max_length=500)


class CustomerAmendIn(CustomerIn):
    email = serializers.EmailField(max_length=254, required=False)


class ShippingAmendIn(StrictSerializer):
    service_level = serializers.ChoiceField(choices=ServiceLevel.choices)


class LineChangeIn(StrictSerializer):
    """One line change before release: an existing line's new quantity (lower: a partial
    cancellation; higher: re-priced and paid) or its substitute SKU; or a new line."""

    line = StrictIntegerField(required=False, help_text="Line id as the order API shows it; absent: a new line.")
    quantity = StrictIntegerField(required=False, min_value=0)
    sku = StrictCharField(required=False, max_length=64, help_text="A new line's SKU, or a line's substitute.")
    unit_price = MoneyField(required=False, help_text="A new line's price (a substitute keeps the line's).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "line" not in attrs and not ("sku" in attrs and attrs.get("quantity") and "unit_price" in attrs):
            raise serializers.ValidationError(
                "A new line needs sku, quantity (at least 1) and unit_price.", code="required"
            )
        if "line" in attrs and "quantity" not in attrs and "sku" not in attrs:
            raise serializers.ValidationError("Give the line's new quantity or its substitute sku.", code="required")
        return attrs


class OrderAmendIn(StrictSerializer):
    customer = CustomerAmendIn(required=False)
    shipping_address = AddressIn(required=False)
    billing_address = AddressIn(required=False, allow_null=True)
    shipping = ShippingAmendIn(required=False)
    fulfillment = FulfillmentIn(required=False)
    promise_date = BoundedDateField(required=False, allow_null=True)
    notes = StrictCharField(required=False, allow_blank=True, max_length=2000)
    lines = LineChangeIn(many=True, required=False, help_text="Line changes before release (see LineChangeIn).")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        customer = attrs.get("customer", {})
        if customer.get("phone"):
            region = attrs["shipping_address"]["country"] if attrs.get("shipping_address") else None
            customer["phone"], errors = normalize_phone(customer["phone"], region, "customer.phone")
            _raise(errors)
        return attrs


class PaymentTokenIn(StrictSerializer):
    token = StrictCharField(max_length=255, help_text="A new gateway token from the customer.")
    payment = StrictIntegerField(required=False, help_text="Payment id; default: the one that failed.")


class RefundIn(StrictSerializer):
    amount = MoneyField()
    reason = StrictCharField(max_length=500)
    lines = LineQuantityIn(many=True, required=False, allow_empty=False)
    reference = StrictCharField(
        max_length=80, required=False, help_text="Your id of this refund: a repeat with it refunds once."
    )
