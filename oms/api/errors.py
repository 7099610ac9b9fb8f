"""One error body for the whole API: {"errors": [{"field", "code", "message"}]}."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from django_fsm import TransitionNotAllowed
from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from oms.errors import DomainError


class ErrorSerializer(serializers.Serializer):
    field = serializers.CharField(allow_null=True, help_text="Path of the failing field, e.g. lines[0].sku")
    code = serializers.CharField()
    message = serializers.CharField()


class ErrorBodySerializer(serializers.Serializer):
    errors = ErrorSerializer(many=True)


class Replay(exceptions.APIException):
    """Carries a stored response back out through the exception handler."""

    def __init__(self, status_code: int, body: Any):
        super().__init__()
        self.status_code = status_code
        self.body = body


def flatten(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """Turn DRF's nested error detail into a flat list naming each field by its path."""
    if isinstance(detail, dict):
        out: list[dict[str, Any]] = []
        for key, value in detail.items():
            if key in ("non_field_errors", "__all__"):
                out += flatten(value, path)
            elif isinstance(key, int):  # ListSerializer reports failing items by index
                out += flatten(value, f"{path}[{key}]")
            else:
                out += flatten(value, f"{path}.{key}" if path else str(key))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, (str, exceptions.ErrorDetail)) for item in detail):
            return [e for item in detail for e in flatten(item, path)]
        out = []
        for index, item in enumerate(detail):
            if item:  # DRF puts {} for list items that had no error
                out += flatten(item, f"{path}[{index}]")
        return out
    code = getattr(detail, "code", None) or "invalid"
    if code == "required" and not path:
        code = "invalid"
    return [{"field": path or None, "code": code, "message": str(detail)}]


def body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    return {"errors": errors}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Replay):
        return Response(exc.body, status=exc.status_code, headers={"Idempotent-Replayed": "true"})
    if isinstance(exc, DomainError):
        set_rollback()
        return Response(body([e.as_dict() for e in exc.errors]), status=exc.status)
    if isinstance(exc, TransitionNotAllowed):
        set_rollback()
        state = getattr(exc.object, "status", None)
        message = f"Not allowed while the {exc.object._meta.verbose_name} is {state}."
        return Response(body([{"field": None, "code": "invalid_state", "message": message}]), status=409)
    if isinstance(exc, RequestDataTooBig):
        message = f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes."
        return Response(body([{"field": None, "code": "too_large", "message": message}]), status=413)
    if isinstance(exc, (OperationalError, InterfaceError)):
        # The database connection was lost mid-request (terminated, server restarting, pool
        # exhausted): the transaction rolled back, and the same request may be sent again.
        message = "The database connection was lost before the request completed; send it again."
        return Response(
            body([{"field": None, "code": "database_unavailable", "message": message}]),
            status=503,
            headers={"Retry-After": "1"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None
    set_rollback()
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten(exc.detail)
    else:
        errors = [
            {
                "field": None,
                "code": exc.get_codes() if isinstance(exc.get_codes(), str) else "error",
                "message": str(exc.detail),
            }
        ]
    status_code = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated):
        status_code = status.HTTP_401_UNAUTHORIZED
    return Response(body(errors), status=status_code, headers=headers)


def json_404(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(body([{"field": None, "code": "not_found", "message": "Not found."}]), status=404)


def json_500(request: HttpRequest) -> JsonResponse:
    return JsonResponse(
        body([{"field": None, "code": "server_error", "message": "Internal error; nothing was changed."}]),
        status=500,
    )


def results_or_error(results: type[serializers.Serializer], name: str) -> PolymorphicProxySerializer:
    """The 400 of a batch endpoint: per-item results when items were read, the error body when
    the envelope itself was refused."""
    return PolymorphicProxySerializer(
        component_name=name, serializers=[results, ErrorBodySerializer], resource_type_field_name=None
    )
