"""Migration helpers for search indexes that exist on PostgreSQL only (pg_trgm); on SQLite the
same migrations run and create nothing, and the searches scan."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def trigram_indexes(*indexes: tuple[str, str, str]) -> list[Any]:
    """Operations creating a GIN pg_trgm index on UPPER(column) for each (name, table, column):
    the expression Django's `icontains` compares on PostgreSQL, so the index serves it."""

    def forward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, table, column in indexes:
            schema_editor.execute(
                f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin (UPPER("{column}"::text) gin_trgm_ops)'
            )

    def backward(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor != "postgresql":
            return
        for name, _, _ in indexes:
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')

    return [migrations.RunPython(forward, backward, elidable=False)]
