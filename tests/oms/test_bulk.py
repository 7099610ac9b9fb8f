"""Several rows' new values in one UPDATE: each row gets its own, nothing else changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from oms.bulk import update_together
from orders.models import Order, OrderLine
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_each_row_gets_its_own_values_in_one_statement():
    order = OrderFactory()
    lines = [OrderLineFactory(order=order, quantity=5) for _ in range(3)]
    untouched = OrderLineFactory(order=order, quantity=5, qty_allocated=1)
    for i, line in enumerate(lines):
        line.qty_allocated, line.qty_backordered = i + 2, 3 - i
        line.sku = "NOT-WRITTEN"
    with CaptureQueriesContext(connection) as ctx:
        update_together(lines, ["qty_allocated", "qty_backordered"])
    assert len(ctx) == 1
    stored = {row.pk: row for row in OrderLine.objects.filter(order=order)}
    assert [(stored[line.pk].qty_allocated, stored[line.pk].qty_backordered) for line in lines] == [
        (2, 3),
        (3, 2),
        (4, 1),
    ]
    assert all(stored[line.pk].sku != "NOT-WRITTEN" for line in lines)
    assert (stored[untouched.pk].qty_allocated, stored[untouched.pk].qty_backordered) == (1, 0)


def test_it_writes_decimals_dates_and_nulls_as_their_columns_types():
    first, second = OrderFactory(promise_date=date(2026, 12, 24)), OrderFactory()
    first.total, first.promise_date = Decimal("12.345"), None
    second.total, second.promise_date = Decimal("0.500"), date(2027, 1, 2)
    update_together([first, second], ["total", "promise_date"])
    assert Order.objects.values_list("total", "promise_date").get(pk=first.pk) == (Decimal("12.345"), None)
    assert Order.objects.values_list("total", "promise_date").get(pk=second.pk) == (Decimal("0.500"), date(2027, 1, 2))
    second.promise_date = None  # a column whose every value is NULL has no type of its own to give
    update_together([first, second], ["promise_date"])
    assert list(Order.objects.filter(pk__in=[first.pk, second.pk]).values_list("promise_date", flat=True)) == [None] * 2


def test_no_rows_send_no_statement():
    with CaptureQueriesContext(connection) as ctx:
        update_together([], ["qty_allocated"])
    assert len(ctx) == 0
