"""Claims and appeasements in the merchant API. A merchant's key has a CSR's authority: an
appeasement within the CSR limit is issued at once, one above it waits for the admin's
approval queue; claims wait for a CSR (here or in the admin)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer
from oms.errors import NotFound
from orders.selectors import order_get
from returns.api.serializers import AppeasementIn, AppeasementOut, ClaimIn, ClaimOut, OptionalReasonIn
from returns.models import Appeasement, Claim
from returns.services.approvals import API_AUTHORITY
from returns.services.goodwill import appeasement_create, claim_approve, claim_create

ERRORS = {
    400: ErrorBodySerializer,
    403: ErrorBodySerializer,
    404: ErrorBodySerializer,
    409: ErrorBodySerializer,
    422: ErrorBodySerializer,
}


class ClaimCreateView(MerchantAPIView):
    @extend_schema(
        operation_id="claims_create",
        request=ClaimIn,
        responses={201: ClaimOut, **ERRORS},
        description="Open a claim (no return needed); it waits for a CSR's approval.",
    )
    def post(self, request: Request) -> Response:
        serializer = ClaimIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = order_get(merchant=self.merchant, number=data["order"])
        claim = claim_create(
            order=order,
            kind=data["kind"],
            resolution=data["resolution"],
            lines=data["lines"],
            reason=data["reason"],
            actor=self.actor,
        )
        return Response(ClaimOut(claim).data, status=status.HTTP_201_CREATED)


def _claim(view: MerchantAPIView, id: int) -> Claim:
    claim = Claim.objects.filter(merchant=view.merchant, pk=id).select_related("order", "refund").first()
    if claim is None:
        raise NotFound(f"No claim {id}.", field="id")
    return claim


class ClaimDetailView(MerchantAPIView):
    @extend_schema(operation_id="claims_retrieve", responses={200: ClaimOut, 404: ErrorBodySerializer})
    def get(self, request: Request, id: int) -> Response:
        return Response(ClaimOut(_claim(self, id)).data)


class ClaimApproveView(MerchantAPIView):
    @extend_schema(
        operation_id="claims_approve",
        request=OptionalReasonIn,
        responses={200: ClaimOut, **ERRORS},
        description="Approve a claim within the CSR limit (above it: 403, approve in the admin).",
    )
    def post(self, request: Request, id: int) -> Response:
        OptionalReasonIn(data=request.data).is_valid(raise_exception=True)
        return Response(ClaimOut(claim_approve(claim=_claim(self, id), actor=self.actor, authority=API_AUTHORITY)).data)


class OrderAppeasementsView(MerchantAPIView):
    pagination_class = None  # an order's appeasements are few: a plain list, as the schema says

    @extend_schema(operation_id="orders_appeasements_list", responses={200: AppeasementOut(many=True)})
    def get(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        return Response(AppeasementOut(Appeasement.objects.filter(order=order).order_by("pk"), many=True).data)

    @extend_schema(
        operation_id="orders_appeasements_create",
        request=AppeasementIn,
        responses={201: AppeasementOut, **ERRORS},
        description="A goodwill refund without a return. Within the CSR limit it is issued at once "
        "(`approved`, with its refund); above, it waits (`pending`) for a CSR lead or Finance.",
    )
    def post(self, request: Request, number: str) -> Response:
        order = order_get(merchant=self.merchant, number=number)
        serializer = AppeasementIn(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        appeasement = appeasement_create(
            order=order, amount=data["amount"], reason=data["reason"], actor=self.actor, authority=API_AUTHORITY
        )
        return Response(AppeasementOut(appeasement).data, status=status.HTTP_201_CREATED)
