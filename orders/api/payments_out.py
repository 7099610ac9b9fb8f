"""Response bodies for payments, their gateway calls, refunds and fraud decisions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from oms.api.base import ModelSerializer
from orders.fraud.models import FraudDecision
from orders.models import Payment
from orders.payments.models import PaymentTransaction, Refund
from orders.validation import currency_precision


class MoneyOut(ModelSerializer):
    """Amounts with the currency's own number of decimals ("48.38", not "48.380")."""

    money_fields: tuple[str, ...] = ("amount",)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        data = super().to_representation(instance)
        places = Decimal(1).scaleb(-currency_precision(instance.currency))
        for name in self.money_fields:
            if data.get(name) is not None:
                data[name] = str(Decimal(data[name]).quantize(places))
        return data


class TransactionOut(MoneyOut):
    class Meta:
        model = PaymentTransaction
        fields = [
            "id", "kind", "source", "amount", "currency", "outcome", "attempt", "idempotency_key",
            "gateway_reference", "decline_code", "message", "duration_ms", "next_attempt_at", "created_at",
            "completed_at",
        ]  # fmt: skip


class PaymentDetailOut(MoneyOut):
    money_fields = ("amount", "authorized_amount", "captured_amount", "refunded_amount", "voided_amount")
    transactions = TransactionOut(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id", "gateway", "transaction_type", "status", "amount", "currency", "authorized_amount",
            "captured_amount", "refunded_amount", "voided_amount", "authorization_expires_at", "transactions",
        ]  # fmt: skip


class RefundOut(MoneyOut):
    money_fields = ("amount", "tax_amount")

    class Meta:
        model = Refund
        fields = ["id", "amount", "tax_amount", "currency", "reason", "lines", "status", "created_at", "completed_at"]


class FraudDecisionOut(ModelSerializer):
    class Meta:
        model = FraudDecision
        fields = ["score", "outcome", "rules", "review_threshold", "reject_threshold", "created_at"]
