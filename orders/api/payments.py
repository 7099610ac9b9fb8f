"""Payment endpoints of an order: its payments (and a new token), its refunds."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer
from oms.errors import NotFound
from orders.api.inputs import PaymentTokenIn, RefundIn
from orders.api.payments_out import PaymentDetailOut, RefundOut
from orders.models import Payment
from orders.payments.models import Refund
from orders.payments.services import payment_for_new_token, payment_retry, refund_issue
from orders.selectors import order_get

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer, 422: ErrorBodySerializer}


class OrderPaymentsView(MerchantAPIView):
    @extend_schema(
        operation_id="orders_payments_list", responses={200: PaymentDetailOut(many=True), 404: ErrorBodySerializer}
    )
    def get(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        payments = Payment.objects.filter(order=order).prefetch_related("transactions").order_by("pk")
        return Response(PaymentDetailOut(payments, many=True).data)

    @extend_schema(
        operation_id="orders_payments_new_token",
        request=PaymentTokenIn,
        responses={200: PaymentDetailOut, **ERRORS},
        description="Record a new token from the customer for the payment that failed (or the one named) "
        "and retry its capture. The payment shows the outcome; success releases the payment hold.",
    )
    def post(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        serializer = PaymentTokenIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        if "payment" in data:
            payment = Payment.objects.filter(order=order, pk=data["payment"]).first()
            if payment is None:
                raise NotFound(f"Order {number} has no payment {data['payment']}.", field="payment")
        else:
            payment = payment_for_new_token(order=order)
        payment_retry(payment=payment, actor=self.actor, token=data["token"])
        fresh = Payment.objects.prefetch_related("transactions").get(pk=payment.pk)
        return Response(PaymentDetailOut(fresh).data)


class OrderRefundsView(MerchantAPIView):
    @extend_schema(operation_id="orders_refunds_list", responses={200: RefundOut(many=True), 404: ErrorBodySerializer})
    def get(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        return Response(RefundOut(Refund.objects.filter(order=order).order_by("pk"), many=True).data)

    @extend_schema(
        operation_id="orders_refunds_create",
        request=RefundIn,
        responses={201: RefundOut, **ERRORS},
        description="Refund an amount (optionally naming the lines and quantities it is for, which sets its "
        "tax part). More than captured minus refunded answers 409. A repeat with the same `reference` (or "
        "Idempotency-Key) returns the first refund instead of refunding again.",
    )
    def post(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        serializer = RefundIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        source = f"api:{data['reference']}" if data.get("reference") else ""
        refund = refund_issue(
            order=order, amount=data["amount"], reason=data["reason"], lines=data.get("lines"), actor=self.actor,
            source=source,
        )  # fmt: skip
        return Response(RefundOut(refund).data, status=status.HTTP_201_CREATED)
