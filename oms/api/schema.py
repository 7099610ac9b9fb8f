"""The OpenAPI schema says what the server does (schemathesis checks it against a live server,
`make fuzz`): strict request bodies refuse unknown fields, amounts come as strings or numbers,
and every paginated list documents its 400 (bad page_size) and 404 (no such page)."""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from rest_framework import serializers

from oms.api.base import StrictSerializer

ERROR_BODY_REF = {"$ref": "#/components/schemas/ErrorBody"}


class AutoSchema(openapi.AutoSchema):
    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        if direction == "request" and isinstance(serializer, StrictSerializer):
            schema["additionalProperties"] = False
        return schema

    def _map_serializer_field(self, field: Any, direction: str, bypass_extensions: bool = False) -> dict[str, Any]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(field, serializers.DecimalField) and schema.get("type") == "string":
            # DRF takes a decimal as a JSON number too ("19.99" or 19.99).
            nullable = schema.pop("nullable", False)
            schema = {"oneOf": [schema, {"type": "number"}]}
            if nullable:
                schema["nullable"] = True
        return schema


def document_list_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: a paginated list answers 400 for a bad page_size and 404 for a page
    past the end, both in the error body."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            names = {p.get("name") for p in operation.get("parameters", []) if isinstance(p, dict)}
            if "page" in names:
                for status in ("400", "404"):
                    operation["responses"].setdefault(
                        status, {"content": {"application/json": {"schema": ERROR_BODY_REF}}, "description": ""}
                    )
    return result
