from __future__ import annotations

import io
from dataclasses import asdict
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from inventory.api.serializers import (
    AdjustmentIn,
    AdjustmentsIn,
    AdjustmentsOut,
    AvailabilityOut,
    AvailabilityQuery,
    BulkIn,
    BulkOut,
    ChannelRuleIn,
    ChannelRuleOut,
    NodeIn,
    NodeOut,
    NodePatchIn,
    ProductIn,
    ProductOut,
    ProductPatchIn,
    SnapshotAcceptedOut,
    SnapshotIn,
    SnapshotOut,
)
from inventory.geocoding import geocode
from inventory.models import ChannelRule, Product
from inventory.selectors import (
    availability,
    channel_rule,
    node_get,
    node_list,
    product_get,
    product_list,
    snapshot_get,
    stock_atp,
)
from inventory.services import (
    channel_rule_set,
    node_create,
    node_update,
    product_create,
    product_update,
    products_upsert,
)
from inventory.services.sync import adjustments_apply, snapshot_submit
from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer, flatten, results_or_error
from oms.errors import DomainError, FieldError, InvalidInput, NotFound
from oms.idempotency import request_fingerprint
from oms.models import Channel

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer}


class ProductListCreateView(MerchantAPIView):
    @extend_schema(operation_id="products_list", responses={200: ProductOut(many=True)})
    def get(self, request: Request) -> Response:
        return self.paginated(product_list(merchant=self.merchant), ProductOut)

    @extend_schema(operation_id="products_create", request=ProductIn, responses={201: ProductOut, **ERRORS})
    def post(self, request: Request) -> Response:
        serializer = ProductIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = product_create(merchant=self.merchant, data=serializer.validated_data)
        return Response(ProductOut(product).data, status=status.HTTP_201_CREATED)


class ProductDetailView(MerchantAPIView):
    @extend_schema(operation_id="products_retrieve", responses={200: ProductOut, 404: ErrorBodySerializer})
    def get(self, request: Request, sku: str) -> Response:
        return Response(ProductOut(product_get(merchant=self.merchant, sku=sku)).data)

    @extend_schema(operation_id="products_update", request=ProductPatchIn, responses={200: ProductOut, **ERRORS})
    def patch(self, request: Request, sku: str) -> Response:
        product = product_get(merchant=self.merchant, sku=sku)
        serializer = ProductPatchIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(ProductOut(product_update(product=product, data=serializer.validated_data)).data)


class ProductBulkView(MerchantAPIView):
    @extend_schema(
        operation_id="products_bulk_upsert",
        request=BulkIn,
        responses={200: BulkOut, 400: results_or_error(BulkOut, "BulkError")},
        description="Create or update up to 1,000 products by SKU. Valid items are saved; the body "
        "has a result per item. 200 when at least one item was saved, 400 when none was.",
    )
    def post(self, request: Request) -> Response:
        envelope = BulkIn(data=request.data)
        envelope.is_valid(raise_exception=True)
        results: list[dict[str, Any]] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        seen: set[str] = set()
        for index, item in enumerate(envelope.validated_data["items"]):
            serializer = ProductIn(data=item)
            sku = item.get("sku") if isinstance(item, dict) else None
            if serializer.is_valid() and sku not in seen:
                seen.add(serializer.validated_data["sku"])
                valid.append((index, serializer.validated_data))
                results.append({"index": index, "sku": sku, "result": None})
            else:
                errors = (
                    flatten(serializer.errors)
                    if serializer.errors
                    else [
                        {
                            "field": "sku",
                            "code": "duplicate",
                            "message": "This SKU appears earlier in the same request.",
                        }
                    ]
                )
                results.append({"index": index, "sku": sku, "result": "error", "errors": errors})
        outcomes = products_upsert(merchant=self.merchant, items=[data for _, data in valid]) if valid else []
        for (index, _), outcome in zip(valid, outcomes, strict=True):
            results[index]["result"] = outcome
        return Response({"results": results}, status=status.HTTP_200_OK if valid else status.HTTP_400_BAD_REQUEST)


# --- nodes -------------------------------------------------------------------------------------


class NodeListCreateView(MerchantAPIView):
    @extend_schema(
        operation_id="nodes_list",
        responses={200: NodeOut(many=True)},
        description="The nodes that serve this merchant: its own (owned: true) and shared ones.",
    )
    def get(self, request: Request) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(node_list(merchant=self.merchant), request, view=self)
        data = NodeOut(page, many=True, context={"merchant": self.merchant}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="nodes_create",
        request=NodeIn,
        responses={201: NodeOut, **ERRORS},
        description="Create a node the merchant owns (a store, a drop-ship vendor). Without latitude and "
        "longitude, the node is geocoded from its address.",
    )
    def post(self, request: Request) -> Response:
        serializer = NodeIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        node = node_create(merchant=self.merchant, data=serializer.validated_data)
        return Response(NodeOut(node, context={"merchant": self.merchant}).data, status=status.HTTP_201_CREATED)


class NodeDetailView(MerchantAPIView):
    @extend_schema(operation_id="nodes_retrieve", responses={200: NodeOut, 404: ErrorBodySerializer})
    def get(self, request: Request, code: str) -> Response:
        node = node_get(merchant=self.merchant, code=code)
        return Response(NodeOut(node, context={"merchant": self.merchant}).data)

    @extend_schema(
        operation_id="nodes_update",
        request=NodePatchIn,
        responses={200: NodeOut, 403: ErrorBodySerializer, **ERRORS},
        description="Change a node the merchant owns; shared nodes answer 403 (they are managed in the admin).",
    )
    def patch(self, request: Request, code: str) -> Response:
        node = node_get(merchant=self.merchant, code=code)
        serializer = NodePatchIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        node = node_update(merchant=self.merchant, node=node, data=serializer.validated_data)
        return Response(NodeOut(node, context={"merchant": self.merchant}).data)


# --- sync --------------------------------------------------------------------------------------


class AdjustmentsView(MerchantAPIView):
    @extend_schema(
        operation_id="inventory_adjustments",
        request=AdjustmentsIn,
        responses={200: AdjustmentsOut, 400: results_or_error(AdjustmentsOut, "AdjustmentsError")},
        description="Apply stock deltas from a WMS or store system, each idempotent by its id. Reasons: receipt "
        "(positive), damage (negative), count, correction, transfer (signed). A result per item: applied, "
        "duplicate (that id was applied before), or error with its errors. 200 when at least one item "
        "applied or was a duplicate, 400 when none did. Taking on_hand below what is reserved de-allocates the "
        "newest reservations and emits inventory.shortfall.",
    )
    def post(self, request: Request) -> Response:
        envelope = AdjustmentsIn(data=request.data)
        envelope.is_valid(raise_exception=True)
        results: list[dict[str, Any] | None] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        for index, item in enumerate(envelope.validated_data["adjustments"]):
            serializer = AdjustmentIn(data=item)
            if serializer.is_valid():
                valid.append((index, serializer.validated_data))
                results.append(None)
            else:
                item_id = item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
                errors = flatten(serializer.errors, f"adjustments[{index}]")
                results.append({"id": item_id, "result": "error", "errors": errors})
        outcomes = adjustments_apply(
            merchant=self.merchant,
            items=[data for _, data in valid],
            positions=[index for index, _ in valid],
            actor=self.actor,
        )
        for (index, _), outcome in zip(valid, outcomes, strict=True):
            body: dict[str, Any] = {"id": outcome.id, "result": outcome.result}
            if outcome.errors:
                body["errors"] = outcome.errors
            if outcome.stock is not None:
                body.update(
                    on_hand=outcome.stock.on_hand, allocated=outcome.stock.allocated, atp=stock_atp(outcome.stock)
                )
            results[index] = body
        ok = any(r is not None and r["result"] != "error" for r in results)
        return Response({"results": results}, status=status.HTTP_200_OK if ok else status.HTTP_400_BAD_REQUEST)


class PayloadTooLarge(DomainError):
    status = 413
    code = "too_large"


SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024


class SnapshotCreateView(MerchantAPIView):
    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # A 100,000-row count (~4 MB) is over DATA_UPLOAD_MAX_MEMORY_SIZE, which guards every
        # other endpoint: this one reads its body itself, up to SNAPSHOT_MAX_BYTES.
        length = int(request.META.get("CONTENT_LENGTH") or 0)
        self.too_large = length > SNAPSHOT_MAX_BYTES
        if (
            0 < length <= SNAPSHOT_MAX_BYTES
            and not getattr(request, "_read_started", False)
            and not hasattr(request, "_body")
        ):
            request._body = request.read(length)
            request._stream = io.BytesIO(request._body)
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="inventory_snapshots_create",
        request=SnapshotIn,
        responses={202: SnapshotAcceptedOut, **ERRORS},
        description="A full count of one node (SKU -> on_hand) as of a time; applied in batches by a background "
        "job. Idempotent by id. A snapshot older than the newest one received for the node answers 409. "
        "Follow status_url for progress and per-row rejections.",
    )
    def post(self, request: Request) -> Response:
        if self.too_large:
            raise PayloadTooLarge(f"A snapshot body may not exceed {SNAPSHOT_MAX_BYTES // 2**20} MB; split the count.")
        serializer = SnapshotIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        snapshot = snapshot_submit(
            merchant=self.merchant,
            data=serializer.validated_data,
            actor=self.actor,
            fingerprint=request_fingerprint(request.data),
        )
        url = reverse("inventory-snapshot-detail", kwargs={"snapshot_id": snapshot.external_id})
        body = {"id": snapshot.external_id, "status": snapshot.status, "status_url": request.build_absolute_uri(url)}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class SnapshotDetailView(MerchantAPIView):
    @extend_schema(operation_id="inventory_snapshots_retrieve", responses={200: SnapshotOut, 404: ErrorBodySerializer})
    def get(self, request: Request, snapshot_id: str) -> Response:
        return Response(SnapshotOut(snapshot_get(merchant=self.merchant, external_id=snapshot_id)).data)


# --- availability ------------------------------------------------------------------------------


class AvailabilityView(MerchantAPIView):
    @extend_schema(
        operation_id="availability",
        parameters=[
            OpenApiParameter("sku", str, many=True, required=True, description="Repeat for several SKUs (max 200)."),
            OpenApiParameter("channel", str, description="Channel code: safe-to-promise follows its rule."),
            OpenApiParameter("country", str),
            OpenApiParameter("region", str),
            OpenApiParameter("postal_code", str, description="With country: nodes are listed nearest first."),
        ],
        responses={200: AvailabilityOut, 400: ErrorBodySerializer},
    )
    def get(self, request: Request) -> Response:
        params = {k: request.query_params.get(k) for k in ("channel", "country", "region", "postal_code")}
        query = AvailabilityQuery(
            data={"sku": request.query_params.getlist("sku"), **{k: v for k, v in params.items() if v is not None}}
        )
        query.is_valid(raise_exception=True)
        data = query.validated_data
        skus = list(dict.fromkeys(data["sku"]))
        products = {p.sku: p for p in Product.objects.filter(merchant=self.merchant, sku__in=skus)}
        errors = [
            FieldError(f"sku[{i}]", "unknown_sku", f"No product with SKU '{sku}'.")
            for i, sku in enumerate(skus)
            if sku not in products
        ]
        channel = None
        if "channel" in data:
            channel = Channel.objects.filter(merchant=self.merchant, code=data["channel"]).first()
            if channel is None:
                errors.append(FieldError("channel", "unknown_channel", f"No channel '{data['channel']}'."))
        if errors:
            raise InvalidInput(errors)
        destination = None
        if "country" in data:
            destination = geocode(
                country=data["country"], region=data.get("region", ""), postal_code=data.get("postal_code", "")
            )
        rows = availability(
            merchant=self.merchant,
            products=[products[sku] for sku in skus],
            channel=channel,
            destination=destination,
        )
        # Plain dicts: a 100-SKU answer over hundreds of nodes is too large for serializer fields.
        body: dict[str, Any] = {
            "results": [
                {
                    "sku": row.sku,
                    "atp": row.atp,
                    "safe_to_promise": row.safe_to_promise,
                    "nodes": row.nodes,
                }
                for row in rows
            ]
        }
        if destination is not None:
            body["destination"] = asdict(destination)
        return Response(body)


class ChannelRuleView(MerchantAPIView):
    """How much of the merchant's stock one channel may promise (GET/PUT)."""

    def _channel(self, code: str) -> Channel:
        channel = Channel.objects.filter(merchant=self.merchant, code=code).first()
        if channel is None:
            raise NotFound(f"No channel '{code}'.")
        return channel

    def _body(self, channel: Channel) -> dict[str, Any]:
        rule = channel_rule(channel=channel)
        return {
            "channel": channel.code,
            "buffer_type": rule.buffer_type,
            "buffer_value": rule.buffer_value,
            "node_types": rule.node_types,
            "store_capabilities": rule.store_capabilities,
            "is_default": not ChannelRule.objects.filter(channel=channel).exists(),
        }

    @extend_schema(operation_id="channel_availability_rule_retrieve", responses={200: ChannelRuleOut, **ERRORS})
    def get(self, request: Request, code: str) -> Response:
        return Response(ChannelRuleOut(self._body(self._channel(code))).data)

    @extend_schema(
        operation_id="channel_availability_rule_update",
        request=ChannelRuleIn,
        responses={200: ChannelRuleOut, **ERRORS},
        description="Replace the channel's rule: the buffer held back (fixed units or a percentage of ATP, "
        "rounded up) and which node types count; stores count only where one of store_capabilities "
        "(ship_from_store, pickup) is enabled for the channel and the store can do it.",
    )
    def put(self, request: Request, code: str) -> Response:
        channel = self._channel(code)
        serializer = ChannelRuleIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        channel_rule_set(channel=channel, data={"store_capabilities": [], **serializer.validated_data})
        return Response(ChannelRuleOut(self._body(channel)).data)
