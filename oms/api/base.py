"""The base view and serializer every merchant API endpoint builds on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from oms.actors import Actor
from oms.api.errors import Replay
from oms.api.pagination import Pagination
from oms.idempotency import idempotency_claim, idempotency_finish, request_fingerprint
from oms.models import IdempotencyRecord, Merchant


class StrictSerializer(serializers.Serializer):
    """A serializer that refuses fields it does not know instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        unknown: dict[str, list[ErrorDetail]] = {}
        if isinstance(data, Mapping):
            writable = {name for name, field in self.fields.items() if not field.read_only}
            unknown = {
                str(key): [ErrorDetail("Unknown field.", code="unknown_field")] for key in data if key not in writable
            }
        try:
            value = super().to_internal_value(data)
        except ValidationError as exc:
            if unknown and isinstance(exc.detail, dict):
                raise ValidationError({**exc.detail, **unknown}) from None
            raise
        if unknown:
            raise ValidationError(unknown)
        return value


class MerchantAPIView(APIView):
    """Scopes everything to the caller's merchant and honours Idempotency-Key on POST."""

    _idempotency: IdempotencyRecord | None = None
    pagination_class = Pagination

    def paginated(self, queryset: QuerySet[Any], serializer_class: type[BaseSerializer]) -> Response:
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        return paginator.get_paginated_response(serializer_class(page, many=True).data)

    @property
    def merchant(self) -> Merchant:
        return self.request.user.merchant  # type: ignore[union-attr]

    @property
    def actor(self) -> Actor:
        return Actor.api_key(self.request.auth)  # type: ignore[arg-type]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return
        record, claimed = idempotency_claim(
            api_key=request.auth,
            key=key[:255],
            method=request.method,
            path=request.path,
            fingerprint=request_fingerprint(request.data),
        )
        if not claimed:
            raise Replay(record.response_status or 200, record.response_body)
        self._idempotency = record

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        except Exception:
            if self._idempotency is not None:  # crashed mid-request: free the key for a retry
                idempotency_finish(record=self._idempotency, status=500, body=None)
            raise

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._idempotency is not None and isinstance(response, Response):
            idempotency_finish(record=self._idempotency, status=response.status_code, body=response.data)
            self._idempotency = None
        return response
