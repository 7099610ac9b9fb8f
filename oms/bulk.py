"""One statement for several rows: new rows of several tables, or new values of one table's rows."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection, models
from django.db.models.sql import InsertQuery


def _insert_sql(rows: Sequence[models.Model]) -> tuple[str, list[object]]:
    """The INSERT that bulk_create would send for `rows` (one model), without RETURNING."""
    opts = rows[0]._meta
    fields = [f for f in opts.concrete_fields if f is not opts.auto_field and not f.generated]
    query = InsertQuery(type(rows[0]))
    query.insert_values(fields, rows)
    ((sql, params),) = query.get_compiler(connection=connection).as_sql()
    return sql, list(params)


def insert_together(*groups: Sequence[models.Model]) -> None:
    """Insert each group's rows (one model per group; auto ids are not read back).

    On PostgreSQL every group but the last becomes a data-modifying CTE of the last one's INSERT,
    so rows that always go together (a transition's timeline row and its event) cost one round
    trip and one statement; elsewhere one bulk_create per group.
    """
    groups = tuple(g for g in groups if g)
    if connection.vendor != "postgresql" or len(groups) < 2:
        for group in groups:
            type(group[0]).objects.bulk_create(group)
        return
    parts = [_insert_sql(group) for group in groups]
    ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(parts[:-1]))
    params = [p for _, group_params in parts for p in group_params]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} {parts[-1][0]}", params)


def update_together(rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write `fields` of `rows` (one model, saved rows) in one UPDATE joined to a VALUES list.

    bulk_update sends one statement too, but builds a CASE per field with a WHEN per row, which
    costs Django several times what PostgreSQL spends running it.
    """
    if not rows:
        return
    opts = rows[0]._meta
    columns = [opts.get_field(name) for name in fields]
    qn = connection.ops.quote_name
    table = qn(opts.db_table)
    # VALUES columns are column1, column2, … on both backends; PostgreSQL types them from the
    # values, so each is cast back to its column's type.
    cast = (lambda f: f"::{f.cast_db_type(connection)}") if connection.vendor == "postgresql" else (lambda f: "")
    sets = ", ".join(f"{qn(f.column)} = v.column{i + 2}{cast(f)}" for i, f in enumerate(columns))
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    params = [
        value
        for r in rows
        for value in (r.pk, *(f.get_db_prep_save(getattr(r, f.attname), connection) for f in columns))
    ]
    values, pk = ", ".join([row] * len(rows)), opts.pk
    sql = f"UPDATE {table} SET {sets} FROM (VALUES {values}) AS v WHERE {table}.{qn(pk.column)} = v.column1{cast(pk)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
