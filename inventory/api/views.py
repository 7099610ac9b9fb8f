from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from inventory.api.serializers import BulkIn, BulkOut, ProductIn, ProductOut, ProductPatchIn
from inventory.selectors import product_get, product_list
from inventory.services import product_create, product_update, products_upsert
from oms.api.base import MerchantAPIView
from oms.api.errors import ErrorBodySerializer, flatten

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
        responses={200: BulkOut, 400: BulkOut},
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
