"""The base view and serializer every merchant API endpoint builds on."""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from typing import Any

from django.db import transaction
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
from oms.errors import Conflict
from oms.idempotency import (
    IdempotencyReplay,
    idempotency_claim,
    idempotency_release,
    idempotency_reply_store,
    request_fingerprint,
)
from oms.models import IdempotencyRecord, Merchant


class ModelSerializer(serializers.ModelSerializer):
    """DRF's model serializer, whose fields are worked out from the model once per class.

    DRF works them out (the model's field info, then a field class and its arguments for each)
    for every instance it makes, several times per response. That was half the time an order's
    201 body took (`python -m bench statement_cost`). Each instance still gets its own copy, as
    DRF gives each its declared fields, so binding and per-instance changes stay its own.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        built = _MODEL_FIELDS.get(type(self))
        if built is None:
            built = _MODEL_FIELDS[type(self)] = super().get_fields()
        return copy.deepcopy(built)


# Serializer class -> its fields as DRF built them, never bound (each instance binds its copy).
_MODEL_FIELDS: dict[type[ModelSerializer], dict[str, serializers.Field]] = {}


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
    """Scopes everything to the caller's merchant and honours Idempotency-Key on POST.

    With a key, the handler runs in one transaction that also stores its reply on the key's claim
    (oms/idempotency.py). A view whose service commits in steps around a network call (a gateway
    call recorded as a pending row first) sets `idempotency_atomic = False`: its reply is stored
    after the handler, and the service's own idempotency covers a crash in between.
    """

    _idempotency: IdempotencyRecord | None = None
    idempotency_atomic = True
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
        try:
            self._idempotency = idempotency_claim(
                api_key=request.auth,
                key=key[:255],
                method=request.method,
                path=request.path,
                fingerprint=request_fingerprint(request.data),
            )
        except IdempotencyReplay as replay:
            raise Replay(*replay.record.reply()) from None
        # DRF looks the handler up after initial(): route it through the reply-storing transaction.
        self.post = functools.partial(self.post_with_reply, self.post)

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().dispatch(request, *args, **kwargs)
        except Exception:
            if self._idempotency is not None:  # crashed mid-request: free the key for a retry
                idempotency_release(record=self._idempotency)
                self._idempotency = None
            raise

    def post_with_reply(self, handler: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        """Run the handler and store its reply in one transaction (the claim is `self._idempotency`)."""
        record = self._idempotency
        if record is None or not self.idempotency_atomic:
            return handler(request, *args, **kwargs)
        with transaction.atomic():
            response = handler(request, *args, **kwargs)
            stored = idempotency_reply_store(record=record, status=response.status_code, body=response.data)
            self._idempotency = None
            if not stored:
                raise Conflict(
                    "A retry with this Idempotency-Key took the request over; nothing was changed by this one.",
                    field="Idempotency-Key",
                    code="idempotency_key_in_use",
                )
        return response

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        record = self._idempotency
        if record is not None and isinstance(response, Response):
            # Refusals (4xx) and non-atomic views: no business write to share a transaction with.
            self._idempotency = None
            if response.status_code >= 500:
                idempotency_release(record=record)
            else:
                idempotency_reply_store(record=record, status=response.status_code, body=response.data)
        return response
