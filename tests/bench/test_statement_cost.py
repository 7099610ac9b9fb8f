"""The statement-cost bench (bench/statement_cost.py) compares like with like: each case is one
statement, and its ceiling sends exactly the SQL and values Django sent for it."""

from __future__ import annotations

import pytest
from django.db import connection

from bench.statement_cost import _cases, _driver, _sent
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_each_case_is_one_statement_and_its_ceiling_replays_it():
    order = OrderFactory()
    for position in (1, 2, 3):
        OrderLineFactory(order=order, position=position)
    for statement, built, call in _cases(order):
        sent = _sent(call)
        assert len(sent) == 1, (statement, built, sent)
        replayed = _sent(_driver(sent))
        assert replayed == [], "the ceiling goes under Django's wrapper, so Django sees none of it"
        with connection.cursor() as cursor:
            cursor.execute(*sent[0])
            expected = cursor.fetchall() if cursor.description else None
        with connection.cursor() as wrapper:
            wrapper.cursor.execute(*sent[0])
            assert (wrapper.cursor.fetchall() if wrapper.cursor.description else None) == expected, statement
