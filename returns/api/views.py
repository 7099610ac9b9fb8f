"""The returns API: request and list returns; authorize, reject, receive, inspect and refund
them. A node's own key may list, receive and inspect the returns at its node."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from fulfillment.api.node_auth import NodeAPIView, NodeClient
from oms.api.errors import ErrorBodySerializer
from oms.errors import NotFound
from orders.selectors import order_get
from returns.api.filters import ReturnFilter
from returns.api.serializers import (
    InspectIn,
    OptionalReasonIn,
    ReasonIn,
    ReceiveIn,
    ReturnDetailOut,
    ReturnIn,
    ReturnOut,
)  # fmt: skip
from returns.models import Return
from returns.selectors import return_get, return_list
from returns.services.receiving import return_receive
from returns.services.refunds import return_inspect_and_refund, return_settle
from returns.services.requests import return_authorize, return_open, return_reject

ERRORS = {400: ErrorBodySerializer, 404: ErrorBodySerializer, 409: ErrorBodySerializer, 422: ErrorBodySerializer}


class ReturnListCreateView(NodeAPIView):
    filterset_class = ReturnFilter

    @extend_schema(operation_id="returns_list", responses={200: ReturnOut(many=True)})
    def get(self, request: Request) -> Response:
        return self.paginated(return_list(**self.scope, filters=request.query_params), ReturnOut)

    @extend_schema(
        operation_id="returns_create", request=ReturnIn, responses={201: ReturnDetailOut, **ERRORS},
        description="Request a return. Lines that fail an eligibility check answer 422 with each reason; "
        "lines that need a person leave the return `requested`; otherwise it is authorized at once (with "
        "its label link, or the store's instructions).",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        if isinstance(request.user, NodeClient):
            raise NotFound("Nodes receive returns; the merchant requests them.", field=None)
        serializer = ReturnIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = order_get(merchant=self.merchant, number=data["order"])
        rma = return_open(order=order, lines=data["lines"], method=data["method"], node_code=data.get("node"),
                          exchange=data.get("exchange"), actor=self.actor)  # fmt: skip
        return Response(ReturnDetailOut(return_get(merchant=self.merchant, id=rma.pk)).data, status.HTTP_201_CREATED)


class ReturnDetailView(NodeAPIView):
    @extend_schema(operation_id="returns_retrieve", responses={200: ReturnDetailOut, 404: ErrorBodySerializer})
    def get(self, request: Request, id: int) -> Response:
        return Response(ReturnDetailOut(return_get(**self.scope, id=id)).data)


class _ActionView(NodeAPIView):
    """POST …/{id}/<action>/: validate the body, run one service, answer with the return."""

    input: type[Serializer] = OptionalReasonIn
    nodes_may = False  # may a node's own key do this?

    def act(self, rma: Return, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    @property
    def node(self) -> Any:
        user = self.request.user
        return user.node if isinstance(user, NodeClient) else None

    def post(self, request: Request, id: int) -> Response:
        if self.node is not None and not self.nodes_may:
            raise NotFound(f"No return {id}.", field="id")
        rma = return_get(**self.scope, id=id)
        serializer = self.input(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.act(rma, serializer.validated_data)
        return Response(ReturnDetailOut(return_get(**self.scope, id=id)).data)


class ReturnAuthorizeView(_ActionView):
    @extend_schema(
        operation_id="returns_authorize", request=OptionalReasonIn, responses={200: ReturnDetailOut, **ERRORS}
    )
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, rma: Return, data: dict[str, Any]) -> Any:
        return return_authorize(rma=rma, actor=self.actor, reason=data.get("reason", ""))


class ReturnRejectView(_ActionView):
    input = ReasonIn

    @extend_schema(operation_id="returns_reject", request=ReasonIn, responses={200: ReturnDetailOut, **ERRORS})
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, rma: Return, data: dict[str, Any]) -> Any:
        return return_reject(rma=rma, actor=self.actor, reason=data["reason"])


class ReturnReceiveView(_ActionView):
    input = ReceiveIn
    nodes_may = True

    @extend_schema(
        operation_id="returns_receive", request=ReceiveIn, responses={200: ReturnDetailOut, **ERRORS},
        description="The receiving scan: one barcode per unit. Other products of yours count as wrong items; "
        "units not scanned as short-shipped; unknown barcodes answer 400.",
    )  # fmt: skip
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, rma: Return, data: dict[str, Any]) -> Any:
        return return_receive(rma=rma, scans=data["scans"], actor=self.actor, node=self.node)


class ReturnInspectView(_ActionView):
    input = InspectIn
    nodes_may = True

    @extend_schema(
        operation_id="returns_inspect", request=InspectIn, responses={200: ReturnDetailOut, **ERRORS},
        description="Grade every received unit; units are put away by the merchant's rules (only resellable "
        "units back to ATP). Unless the merchant holds refunds for review, the refund is issued and the "
        "return completed.",
    )  # fmt: skip
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, rma: Return, data: dict[str, Any]) -> Any:
        return return_inspect_and_refund(rma=rma, grades=data["grades"], actor=self.actor, node=self.node)


class ReturnRefundView(_ActionView):
    @extend_schema(
        operation_id="returns_refund", request=OptionalReasonIn, responses={200: ReturnDetailOut, **ERRORS},
        description="Refund an inspected return (the amount is computed) and complete it. Idempotent: "
        "asking again, even concurrently, gives the one refund.",
    )  # fmt: skip
    def post(self, request: Request, id: int) -> Response:
        return super().post(request, id)

    def act(self, rma: Return, data: dict[str, Any]) -> Any:
        return return_settle(rma=rma, actor=self.actor)
