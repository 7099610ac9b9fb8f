"""Response bodies for payments, their gateway calls, refunds and fraud decisions."""

from __future__ import annotations

from rest_framework import serializers

from orders.fraud.models import FraudDecision
from orders.models import Payment
from orders.payments.models import PaymentTransaction, Refund


class TransactionOut(serializers.ModelSerializer):
    class Meta:
        model = PaymentTransaction
        fields = [
            "id", "kind", "source", "amount", "currency", "outcome", "attempt", "idempotency_key",
            "gateway_reference", "decline_code", "message", "duration_ms", "next_attempt_at", "created_at",
            "completed_at",
        ]  # fmt: skip


class PaymentDetailOut(serializers.ModelSerializer):
    transactions = TransactionOut(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id", "gateway", "transaction_type", "status", "amount", "currency", "authorized_amount",
            "captured_amount", "refunded_amount", "voided_amount", "authorization_expires_at", "transactions",
        ]  # fmt: skip


class RefundOut(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount", "tax_amount", "currency", "reason", "lines", "status", "created_at", "completed_at"]


class FraudDecisionOut(serializers.ModelSerializer):
    class Meta:
        model = FraudDecision
        fields = ["score", "outcome", "rules", "review_threshold", "reject_threshold", "created_at"]
