"""The HTTP bench's ceiling: a DRF endpoint that does one INSERT, served like the API.

No authentication and no validation: what the same web server, WSGI stack, DRF request cycle
and JSON parsing and rendering cost around one statement.
"""

from __future__ import annotations

import json

from django.db import connection
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

TABLE = "bench_ceiling"


def ceiling_table_create() -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, payload jsonb)")


class CeilingView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def post(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {TABLE} (payload) VALUES (%s) RETURNING id", [json.dumps(request.data)])
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id}, status=201)
