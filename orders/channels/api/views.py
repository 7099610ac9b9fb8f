"""Channel connection endpoints: settings, runs, the SKU map, "sync now", and the webhook intake."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer
from oms.errors import FieldError, InvalidInput
from oms.models import Channel
from oms.outbox import enqueue_now
from orders.channels.api.serializers import (
    ConnectionIn,
    ConnectionOut,
    ConnectionPatchIn,
    RunOut,
    SkuMapIn,
    SkuMapOut,
)
from orders.channels.models import SyncRun
from orders.channels.selectors import connection_get, connections_of, runs_of, sku_map_of
from orders.channels.services.connections import connection_create, connection_delete, connection_update, sku_map_set
from orders.channels.services.sync import channel_feed_upload
from orders.channels.services.webhooks import channel_webhook_receive
from orders.channels.tasks import channel_pull, sku_map_sync, webhook_process

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer}


class ConnectionListCreateView(MerchantAPIView):
    @extend_schema(operation_id="channel_connections_list", responses={200: ConnectionOut(many=True)})
    def get(self, request: Request) -> Response:
        return self.paginated(connections_of(merchant=self.merchant), ConnectionOut)

    @extend_schema(
        operation_id="channel_connections_create",
        request=ConnectionIn,
        responses={201: ConnectionOut, **ERRORS},
        description="Connect one of the merchant's channels to its platform. Credentials are encrypted at "
        "rest and never shown again; a periodic pull is scheduled every `pull_every_seconds`.",
    )
    def post(self, request: Request) -> Response:
        serializer = ConnectionIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        channel = Channel.objects.filter(merchant=self.merchant, code=data.pop("channel")).first()
        if channel is None:
            raise InvalidInput([FieldError("channel", "invalid", "No such channel.")])
        if hasattr(channel, "connection"):
            raise InvalidInput([FieldError("channel", "unique", "This channel already has a connection.")])
        connection = connection_create(merchant=self.merchant, channel=channel, **data)
        return Response(ConnectionOut(connection).data, status=status.HTTP_201_CREATED)


class ConnectionDetailView(MerchantAPIView):
    @extend_schema(
        operation_id="channel_connections_retrieve", responses={200: ConnectionOut, 404: ErrorBodySerializer}
    )
    def get(self, request: Request, uuid: str) -> Response:
        return Response(ConnectionOut(connection_get(merchant=self.merchant, uuid=uuid)).data)

    @extend_schema(
        operation_id="channel_connections_update", request=ConnectionPatchIn, responses={200: ConnectionOut, **ERRORS}
    )
    def patch(self, request: Request, uuid: str) -> Response:
        connection = connection_get(merchant=self.merchant, uuid=uuid)
        serializer = ConnectionPatchIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        connection = connection_update(connection=connection, changes=serializer.validated_data)
        return Response(ConnectionOut(connection).data)

    @extend_schema(operation_id="channel_connections_delete", responses={204: None, 404: ErrorBodySerializer})
    def delete(self, request: Request, uuid: str) -> Response:
        connection_delete(connection=connection_get(merchant=self.merchant, uuid=uuid))
        return Response(status=status.HTTP_204_NO_CONTENT)


class RunListView(MerchantAPIView):
    @extend_schema(operation_id="channel_runs_list", responses={200: RunOut(many=True), 404: ErrorBodySerializer})
    def get(self, request: Request, uuid: str) -> Response:
        return self.paginated(runs_of(connection=connection_get(merchant=self.merchant, uuid=uuid)), RunOut)


class SyncNowView(MerchantAPIView):
    @extend_schema(
        operation_id="channel_sync_now",
        request=None,
        responses={202: None, 404: ErrorBodySerializer},
        description="Queue a pull now (the run appears under runs/).",
    )
    def post(self, request: Request, uuid: str) -> Response:
        connection = connection_get(merchant=self.merchant, uuid=uuid)
        enqueue_now(channel_pull, connection.pk, SyncRun.Trigger.MANUAL)
        return Response(status=status.HTTP_202_ACCEPTED)


class SkuMapView(MerchantAPIView):
    @extend_schema(operation_id="channel_sku_map_list", responses={200: SkuMapOut(many=True), 404: ErrorBodySerializer})
    def get(self, request: Request, uuid: str) -> Response:
        return self.paginated(sku_map_of(connection=connection_get(merchant=self.merchant, uuid=uuid)), SkuMapOut)

    @extend_schema(
        operation_id="channel_sku_map_set",
        request=SkuMapIn,
        responses={200: SkuMapOut, **ERRORS},
        description="Set a SKU's platform ids (the ids a pull learned may be corrected here).",
    )
    def post(self, request: Request, uuid: str) -> Response:
        connection = connection_get(merchant=self.merchant, uuid=uuid)
        serializer = SkuMapIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = dict(serializer.validated_data)
        entry = sku_map_set(connection=connection, sku=ids.pop("sku"), ids=ids)
        return Response(SkuMapOut(entry).data)


class SkuMapSyncView(MerchantAPIView):
    @extend_schema(
        operation_id="channel_sku_map_sync",
        request=None,
        responses={202: None, 404: ErrorBodySerializer},
        description="Queue a product sync: the platform's products (Shopify variants with their inventory "
        "item ids; WooCommerce products and variations) fill the SKU map.",
    )
    def post(self, request: Request, uuid: str) -> Response:
        enqueue_now(sku_map_sync, connection_get(merchant=self.merchant, uuid=uuid).pk)
        return Response(status=status.HTTP_202_ACCEPTED)


class FeedUploadView(MerchantAPIView):
    @extend_schema(
        operation_id="channel_feed_upload",
        request={"application/json": {"type": "array", "items": {"type": "object"}}, "text/csv": {"type": "string"}},
        responses={201: RunOut, **ERRORS},
        description="Upload a feed file to a feed connection: a JSON array of line records, or CSV with a "
        "header row (Content-Type: text/csv), read through the connection's field mapping. Answers with "
        "the run: created, duplicates, rejected (with each order's errors).",
    )
    def post(self, request: Request, uuid: str) -> Response:
        connection = connection_get(merchant=self.merchant, uuid=uuid)
        fmt = "csv" if request.content_type.startswith("text/csv") else "json"
        run = channel_feed_upload(connection=connection, content=request.body, fmt=fmt)
        return Response(RunOut(run).data, status=status.HTTP_201_CREATED)


class WebhookIntakeView(APIView):
    """Platforms call without an API key: the connection's UUID names it, the signature proves it."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="channel_webhook_intake",
        request=None,
        responses={202: None, 401: ErrorBodySerializer, 404: ErrorBodySerializer},
        description="A Shopify (X-Shopify-Hmac-Sha256) or WooCommerce (X-WC-Webhook-Signature) webhook. "
        "Checked, stored once per delivery id, answered 202; the order is taken by a job.",
    )
    def post(self, request: Request, uuid: str) -> Response:
        # Autocommit: the one INSERT has committed when it returns, so the job may be sent now.
        stored = channel_webhook_receive(connection_uuid=uuid, body=request.body, headers=request.headers)
        if stored is not None:
            enqueue_now(webhook_process, stored)
        return Response({"status": "accepted" if stored else "duplicate"}, status=status.HTTP_202_ACCEPTED)
