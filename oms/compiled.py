"""Hot queries compiled once per process: for a query whose building costs more than its run.

Django builds and compiles a queryset's SQL on every run; for a query of scalar subqueries over
expression indexes (the fraud velocity counts) that is most of its cost. `CompiledQuery` has
Django build and compile the query once per shape, with a marker in place of each value, and
each run sends that SQL with the real values put where the markers were. The SQL is Django's
own for the connection's backend, so it stays in step with the models and their indexes.

A query whose best plan depends on its values is sent with them written into its text
(`plan_each_run`), so that PostgreSQL plans each run for its values. Sent as parameters, the
statement is prepared after a few runs, and PostgreSQL may then settle on a generic plan: one
that cannot match an expression index to a parameter. For the fraud velocity counts that plan
read the merchant's whole window, a cost that grows with the orders of the hour (EXPLAIN of the
prepared statement: 1,346 rows read for none counted).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import QuerySet

_serial = itertools.count(1)


class Marker:
    """Stands for one value while the query is compiled: `text()`, `integer()` or `moment()` is
    the stand-in of that type, unique to this marker."""

    def __init__(self, name: str) -> None:
        self.name, self.n = name, next(_serial)

    def text(self) -> str:
        return f"\x1fmarker-{self.n}-{self.name}\x1f"

    def integer(self) -> int:
        return -(10**15) - self.n

    def moment(self) -> datetime:
        return datetime(1901, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.n)


class Markers(dict[str, Marker]):
    """A marker for every name `build` asks for."""

    def __missing__(self, name: str) -> Marker:
        marker = self[name] = Marker(name)
        return marker


class CompiledQuery:
    """`build(shape, markers)` returns the queryset of a shape (what changes its SQL: which parts
    it has, how many values a list holds), with `markers[name].text()` / `.integer()` /
    `.moment()` where the values go; `run(shape, values)` returns its first row as a dict of its
    selected columns (None if none), `values` giving each marker's name its value.
    `plan_each_run`: send the values written into the SQL (quoted by the driver), never prepared."""

    def __init__(self, build: Callable[[Hashable, Markers], QuerySet], *, plan_each_run: bool = False) -> None:
        self.build, self.plan_each_run = build, plan_each_run
        self._compiled: dict[tuple[str, Hashable], tuple[str, list[tuple[str | None, Any]], list[str]]] = {}

    def _compile(self, shape: Hashable) -> tuple[str, list[tuple[str | None, Any]], list[str]]:
        markers = Markers()
        queryset = self.build(shape, markers)
        sql, params = queryset.query.sql_with_params()
        stand_ins: dict[Any, str] = {}
        for name, marker in markers.items():
            stand_ins[marker.text()] = name
            stand_ins[marker.integer()] = name
            stand_ins[connection.ops.adapt_datetimefield_value(marker.moment())] = name
        slots = [(stand_ins.get(p), p) if isinstance(p, str | int | datetime) else (None, p) for p in params]
        # A value compiled into the SQL text (not sent as a parameter) would be the marker's on
        # every run: refuse that shape rather than answer with it.
        if missing := set(markers) - {name for name, _ in slots if name}:
            raise ValueError(f"not sent as parameters, so they cannot vary: {sorted(missing)}")
        columns = [*queryset.query.values_select, *queryset.query.annotation_select]
        return sql, slots, columns

    def run(self, shape: Hashable, values: dict[str, Any]) -> dict[str, Any] | None:
        key = (connection.vendor, shape)
        if key not in self._compiled:
            self._compiled[key] = self._compile(shape)
        sql, slots, columns = self._compiled[key]
        params: list[Any] | None = [p if name is None else _db_value(values[name]) for name, p in slots]
        if self.plan_each_run and connection.vendor == "postgresql":
            sql, params = connection.ops.compose_sql(sql, params), None
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
        return None if row is None else dict(zip(columns, row, strict=True))


def _db_value(value: Any) -> Any:
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime) else value
