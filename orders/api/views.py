"""Order endpoints: one view per operation, each calling one service or selector."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer
from oms.idempotency import request_fingerprint
from orders.api.inputs import CancelIn, CancelPreviewIn, OrderAmendIn, OrderIn
from orders.api.outputs import CancelPreviewOut, OrderOut, OrderSummaryOut
from orders.filters import OrderFilter
from orders.selectors import order_get, order_list
from orders.services.amend import order_amend
from orders.services.cancel import order_cancel, order_cancel_preview
from orders.services.capture import order_capture

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer, 422: ErrorBodySerializer}


class OrderListCreateView(MerchantAPIView):
    filterset_class = OrderFilter  # documents the query parameters in the schema

    @extend_schema(operation_id="orders_list", responses={200: OrderSummaryOut(many=True), 400: ErrorBodySerializer})
    def get(self, request: Request) -> Response:
        return self.paginated(order_list(merchant=self.merchant, filters=request.query_params), OrderSummaryOut)

    @extend_schema(
        operation_id="orders_capture",
        request=OrderIn,
        responses={201: OrderOut, 200: OrderOut, **ERRORS},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)],
        description="Capture an order. Exactly once per (channel, external_id): a repeat with the "
        "same body answers 200 with the existing order, with another body 409.",
    )
    def post(self, request: Request) -> Response:
        serializer = OrderIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        order, created = order_capture(
            merchant=self.merchant,
            data=serializer.validated_data,
            actor=self.actor,
            fingerprint=request_fingerprint(request.data),
        )
        if order.page_in_memory:  # as written, nothing held or cancelled it: no re-read
            return Response(OrderOut(order, context={"just_captured": True}).data, status=status.HTTP_201_CREATED)
        order = order_get(merchant=self.merchant, number=order.number)
        return Response(OrderOut(order).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class OrderDetailView(MerchantAPIView):
    @extend_schema(operation_id="orders_retrieve", responses={200: OrderOut, 404: ErrorBodySerializer})
    def get(self, request: Request, number: str) -> Response:
        return Response(OrderOut(order_get(merchant=self.merchant, number=number)).data)

    @extend_schema(operation_id="orders_amend", request=OrderAmendIn, responses={200: OrderOut, **ERRORS})
    def patch(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        serializer = OrderAmendIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        order_amend(order=order, changes=serializer.validated_data, actor=self.actor)
        return Response(OrderOut(order_get(merchant=self.merchant, number=number)).data)


class OrderCancelView(MerchantAPIView):
    @extend_schema(operation_id="orders_cancel", request=CancelIn, responses={200: OrderOut, 202: OrderOut, **ERRORS})
    def post(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        serializer = CancelIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = order_cancel(
            order=order,
            actor=self.actor,
            reason=serializer.validated_data["reason"],
            lines=serializer.validated_data.get("lines"),
        )
        # 202: picked units wait for their node to confirm the cancellation.
        accepted = bool(getattr(result, "cancellation_pending", None))
        body = OrderOut(order_get(merchant=self.merchant, number=number)).data
        return Response(body, status=202 if accepted else 200)


class OrderCancelPreviewView(MerchantAPIView):
    """What a cancellation would refund or void, before it is asked for (nothing changes)."""

    @extend_schema(
        operation_id="orders_cancel_preview", request=CancelPreviewIn, responses={200: CancelPreviewOut, **ERRORS}
    )
    def post(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        serializer = CancelPreviewIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        preview = order_cancel_preview(order=order, lines=serializer.validated_data.get("lines"))
        return Response(CancelPreviewOut({**vars(preview), "currency": order.currency}).data)
