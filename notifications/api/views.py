"""Webhook subscriptions of the caller's merchant, their delivery log and the event catalogue."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from notifications.api.inputs import SubscriptionIn, SubscriptionPatchIn
from notifications.api.outputs import DeliveryOut, EventTypeOut, SubscriptionOut, SubscriptionWithSecretOut
from notifications.selectors import deliveries_of, event_types, subscription_get, subscriptions_of
from notifications.services.webhooks import (
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_update,
)
from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer}


class SubscriptionListCreateView(MerchantAPIView):
    @extend_schema(operation_id="webhooks_list", responses={200: SubscriptionOut(many=True)})
    def get(self, request: Request) -> Response:
        return self.paginated(subscriptions_of(merchant=self.merchant), SubscriptionOut)

    @extend_schema(
        operation_id="webhooks_create",
        request=SubscriptionIn,
        responses={201: SubscriptionWithSecretOut, **ERRORS},
        description="Subscribe a URL to event types (names, `family.*`, or `*` for every type, including "
        "types added later). The answer carries the signing secret: store it, it is not shown again.",
    )
    def post(self, request: Request) -> Response:
        serializer = SubscriptionIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        sub = webhook_subscription_create(merchant=self.merchant, **serializer.validated_data)
        return Response(SubscriptionWithSecretOut(sub).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(MerchantAPIView):
    @extend_schema(operation_id="webhooks_retrieve", responses={200: SubscriptionOut, 404: ErrorBodySerializer})
    def get(self, request: Request, webhook_id: str) -> Response:
        return Response(SubscriptionOut(subscription_get(merchant=self.merchant, id=webhook_id)).data)

    @extend_schema(
        operation_id="webhooks_update",
        request=SubscriptionPatchIn,
        responses={200: SubscriptionWithSecretOut, **ERRORS},
        description="Change the URL, event types, description or `active` (re-enabling a subscription that "
        "was disabled after failures clears its failure count). `rotate_secret: true` issues a new secret, "
        "shown in this answer only.",
    )
    def patch(self, request: Request, webhook_id: str) -> Response:
        sub = subscription_get(merchant=self.merchant, id=webhook_id)
        serializer = SubscriptionPatchIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        sub = webhook_subscription_update(subscription=sub, data=data, actor=self.actor)
        shows_secret = data.get("rotate_secret") or "secret" in data
        return Response((SubscriptionWithSecretOut if shows_secret else SubscriptionOut)(sub).data)

    @extend_schema(operation_id="webhooks_delete", responses={204: None, 404: ErrorBodySerializer})
    def delete(self, request: Request, webhook_id: str) -> Response:
        webhook_subscription_delete(subscription=subscription_get(merchant=self.merchant, id=webhook_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(MerchantAPIView):
    @extend_schema(
        operation_id="webhooks_deliveries_list",
        responses={200: DeliveryOut(many=True), 404: ErrorBodySerializer},
        description="The subscription's deliveries, newest first, each with its attempts (status code, duration).",
    )
    def get(self, request: Request, webhook_id: str) -> Response:
        sub = subscription_get(merchant=self.merchant, id=webhook_id)
        return self.paginated(deliveries_of(subscription=sub), DeliveryOut)


class EventTypesView(MerchantAPIView):
    pagination_class = None  # type: ignore[assignment]

    @extend_schema(operation_id="webhooks_event_types", responses={200: EventTypeOut(many=True)})
    def get(self, request: Request) -> Response:
        return Response(EventTypeOut(event_types(), many=True).data)
