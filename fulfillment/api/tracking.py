"""Tracking: the carriers' signed webhook and the customer-facing tracking feed of an order."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfillment.api.serializers import OrderTrackingOut, TrackingEventIn
from fulfillment.selectors import order_tracking
from fulfillment.signing import HEADER
from fulfillment.tracking.services import carrier_verify, tracking_event_record
from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer


class TrackingEventView(APIView):
    """Called by carriers, authenticated by the body's HMAC signature with the carrier's secret."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="tracking_events_create",
        request=TrackingEventIn,
        responses={201: None, 200: None, 400: ErrorBodySerializer, 401: ErrorBodySerializer, 404: ErrorBodySerializer},
        parameters=[OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, required=True,
                                     description='t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">')],
        description="A carrier's tracking event. 201 recorded; 200 a duplicate event id (nothing changes); "
        "401 bad or missing signature; 404 unknown tracking number.",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        raw = request.body
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        code = parsed.get("carrier") if isinstance(parsed, dict) else None
        # The signature is checked before anything in the body is believed.
        carrier = carrier_verify(carrier_code=str(code or ""), signature=request.headers.get(HEADER, ""), body=raw)
        serializer = TrackingEventIn(data=parsed)
        serializer.is_valid(raise_exception=True)
        received = tracking_event_record(carrier=carrier, data={**serializer.validated_data, "raw": parsed})
        body = {
            "event_id": received.event.event_id,
            "milestone": received.event.milestone,
            "duplicate": not received.created,
        }
        return Response(body, status=status.HTTP_201_CREATED if received.created else status.HTTP_200_OK)


class OrderTrackingView(MerchantAPIView):
    @extend_schema(operation_id="orders_tracking", responses={200: OrderTrackingOut, 404: ErrorBodySerializer})
    def get(self, request: Request, number: str) -> Response:
        order, shipments = order_tracking(merchant=self.merchant, number=number)
        data = {
            "order": order.number,
            "status": order.status,
            "promise_date": order.promise_date,
            "shipments": shipments,
        }
        return Response(OrderTrackingOut(data).data)
