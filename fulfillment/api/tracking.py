"""Tracking: the carriers' signed webhook and the customer-facing tracking feed of an order."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fulfillment.api.serializers import EasyPostEventIn, OrderTrackingOut, TrackingEventIn
from fulfillment.carriers.http_api import tracker_event_updates
from fulfillment.selectors import order_tracking
from fulfillment.signing import HEADER
from fulfillment.tracking.services import (
    TRACKING_AHEAD,
    carrier_verify,
    carrier_verify_native,
    tracking_event_record,
)
from oms.api.base import MerchantAPIView, StrictSerializer
from oms.api.errors import ErrorBodySerializer
from oms.api.fields import BoundedDateTimeField, StrictCharField
from oms.api.parsers import json_load
from oms.errors import FieldError, InvalidInput


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
            parsed = json_load(raw)
        except (ParseError, ValidationError):
            parsed = None  # refused below, unsigned (401) or malformed (400)
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


class NativeTrackerEventIn(StrictSerializer):
    """One detail of a carrier's own tracker event, once normalised."""

    event_id = StrictCharField(max_length=100)
    tracking_number = StrictCharField(max_length=40)
    status = StrictCharField(max_length=60)
    occurred_at = BoundedDateTimeField(ahead=TRACKING_AHEAD)
    location = StrictCharField(max_length=200, allow_blank=True)


class EasyPostEventView(APIView):
    """An EasyPost-style carrier's own webhook: `?carrier=<code>`, the tracker event as the
    carrier sends it, signed `X-Hmac-Signature: hmac-sha256-hex=<hex HMAC-SHA256 of the body>`."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="tracking_events_easypost",
        request=OpenApiTypes.OBJECT,
        responses={200: None, 400: ErrorBodySerializer, 401: ErrorBodySerializer, 404: ErrorBodySerializer},
        parameters=[OpenApiParameter("carrier", str, OpenApiParameter.QUERY, required=True)],
        description="Each tracking detail is recorded like a POST /tracking-events/ (idempotent, never backwards).",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        raw = request.body
        carrier = carrier_verify_native(
            carrier_code=request.query_params.get("carrier", ""),
            signature=request.headers.get("X-Hmac-Signature", ""),
            body=raw,
        )
        envelope = EasyPostEventIn(data=json_load(raw))
        envelope.is_valid(raise_exception=True)
        _, updates = tracker_event_updates(envelope.validated_data)
        recorded = 0
        for i, update in enumerate(updates):
            serializer = NativeTrackerEventIn(data=update)
            if not serializer.is_valid():
                raise InvalidInput([FieldError(f"result.tracking_details[{i}]", "invalid", str(serializer.errors))])
            recorded += tracking_event_record(
                carrier=carrier, data={**serializer.validated_data, "raw": update}
            ).created
        return Response({"events": len(updates), "recorded": recorded})


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
