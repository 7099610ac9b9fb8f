"""The node API: fulfilment orders and what a node does with them; shipment documents.

A merchant's key acts for the nodes that work its orders. While the order is on hold every
action answers 409.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from fulfillment.api.node_auth import NodeAPIView
from fulfillment.api.serializers import (
    FulfillmentOrderOut,
    NoBodyIn,
    PackIn,
    PickIn,
    RejectIn,
    ShipIn,
    ShipmentOut,
)
from fulfillment.execution.node import (
    fulfillment_order_accept,
    fulfillment_order_cancel_confirm,
    fulfillment_order_pack,
    fulfillment_order_pick,
)
from fulfillment.execution.pickup import fulfillment_order_picked_up
from fulfillment.execution.shipping import fulfillment_order_ship
from fulfillment.routing.services.reroute import fulfillment_order_reject
from fulfillment.selectors import (
    FulfillmentOrderFilter,
    fulfillment_order_get,
    fulfillment_order_list,
    shipment_document_get,
)
from fulfillment.tracking.models import Shipment, ShipmentDocument
from oms.api.errors import ErrorBodySerializer

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer, 422: ErrorBodySerializer}


class FulfillmentOrderListView(NodeAPIView):
    filterset_class = FulfillmentOrderFilter

    @extend_schema(operation_id="fulfillment_orders_list", responses={200: FulfillmentOrderOut(many=True)})
    def get(self, request: Request) -> Response:
        qs = fulfillment_order_list(**self.scope, filters=request.query_params)
        return self.paginated(qs, FulfillmentOrderOut)


class FulfillmentOrderDetailView(NodeAPIView):
    @extend_schema(
        operation_id="fulfillment_orders_retrieve", responses={200: FulfillmentOrderOut, 404: ErrorBodySerializer}
    )
    def get(self, request: Request, id: int) -> Response:
        return Response(FulfillmentOrderOut(fulfillment_order_get(**self.scope, id=id)).data)


class _ActionView(NodeAPIView):
    """POST …/{id}/<action>/: validate the body, run one service, answer with the fulfilment order."""

    input: type[Serializer] = NoBodyIn

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def post(self, request: Request, id: int) -> Response:
        fo = fulfillment_order_get(**self.scope, id=id)
        serializer = self.input(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.act(fo, serializer.validated_data)
        return Response(FulfillmentOrderOut(fulfillment_order_get(**self.scope, id=id)).data)


def _action(name: str, input: type[Serializer], description: str) -> Any:
    return extend_schema(
        operation_id=f"fulfillment_orders_{name}", request=input, responses={200: FulfillmentOrderOut, **ERRORS},
        description=description,
    )  # fmt: skip


class AcceptView(_ActionView):
    @_action("accept", NoBodyIn, "The node takes the work on.")
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        return fulfillment_order_accept(fulfillment_order=fo, actor=self.actor)


class RejectView(_ActionView):
    input = RejectIn

    @_action("reject", RejectIn, "The node cannot fulfil it: its units go back to routing for another node.")
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        return fulfillment_order_reject(fulfillment_order=fo, reason=data["reason"], actor=self.actor)


class PickView(_ActionView):
    input = PickIn

    @_action("pick", PickIn, "The pick is complete; name lines with fewer units for a short pick (re-routed).")
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        return fulfillment_order_pick(fulfillment_order=fo, actor=self.actor, lines=data.get("lines"))


class PackView(_ActionView):
    input = PackIn

    @_action("pack", PackIn, "Scan-to-verify: one barcode per unit; a mismatch answers 422 naming the difference.")
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        return fulfillment_order_pack(fulfillment_order=fo, scans=data["scans"], actor=self.actor)


class CancelConfirmView(_ActionView):
    @_action("cancel", NoBodyIn, "The node confirms a pending cancellation: the picked units are back on the shelf.")
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        return fulfillment_order_cancel_confirm(fulfillment_order=fo, actor=self.actor)


class PickedUpView(_ActionView):
    @_action("picked_up", NoBodyIn, "Pick-up orders: the customer collected it.")
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, fo: Any, data: dict[str, Any]) -> Any:
        return fulfillment_order_picked_up(fulfillment_order=fo, actor=self.actor)


class ShipView(NodeAPIView):
    idempotency_atomic = False  # buying a label is a network call; the shipment rows record it

    @extend_schema(
        operation_id="fulfillment_orders_ship", request=ShipIn, responses={201: ShipmentOut(many=True), **ERRORS},
        description="Ship what was packed, one rate-shopped, labelled shipment per parcel (one parcel if none given).",
    )  # fmt: skip
    def post(self, request: Request, id: int) -> Response:
        fo = fulfillment_order_get(**self.scope, id=id)
        serializer = ShipIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        shipments = fulfillment_order_ship(
            fulfillment_order=fo, actor=self.actor, parcels=serializer.validated_data.get("parcels")
        )
        fresh = Shipment.objects.filter(pk__in=[s.pk for s in shipments]).select_related("carrier", "service")
        fresh = fresh.prefetch_related("lines__order_line").order_by("pk")
        return Response(ShipmentOut(fresh, many=True).data, status=status.HTTP_201_CREATED)


def _document(scope: dict[str, Any], shipment_id: int, kind: str) -> HttpResponse:
    document = shipment_document_get(**scope, shipment_id=shipment_id, kind=kind)
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    return response


def binary(content_type: str) -> dict[Any, Any]:
    return {(200, content_type): OpenApiTypes.BINARY, 404: ErrorBodySerializer}


class AnyAccept(DefaultContentNegotiation):
    """A document answers in its own type whatever Accept says (a label printer asks for
    application/pdf, which no DRF renderer offers: that was a 406); errors stay JSON."""

    def select_renderer(self, request: Request, renderers: list[Any], format_suffix: str | None = None) -> Any:
        return renderers[0], renderers[0].media_type


class DocumentView(NodeAPIView):
    content_negotiation_class = AnyAccept


class LabelPdfView(DocumentView):
    @extend_schema(
        operation_id="shipments_label_pdf", responses=binary("application/pdf"), description="The 4×6 inch label (PDF)."
    )
    def get(self, request: Request, shipment_id: int) -> HttpResponse:
        return _document(self.scope, shipment_id, ShipmentDocument.Kind.LABEL_PDF)


class LabelZplView(DocumentView):
    @extend_schema(
        operation_id="shipments_label_zpl",
        responses=binary("application/zpl"),
        description="The label for thermal printers (ZPL).",
    )
    def get(self, request: Request, shipment_id: int) -> HttpResponse:
        return _document(self.scope, shipment_id, ShipmentDocument.Kind.LABEL_ZPL)


class PackingSlipView(DocumentView):
    @extend_schema(
        operation_id="shipments_packing_slip",
        responses=binary("application/pdf"),
        description="The packing slip (PDF).",
    )
    def get(self, request: Request, shipment_id: int) -> HttpResponse:
        return _document(self.scope, shipment_id, ShipmentDocument.Kind.PACKING_SLIP)
