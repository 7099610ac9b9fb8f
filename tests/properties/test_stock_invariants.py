"""Random sequences of receive, reserve, unreserve, consume and count never break the stock
invariants (DESIGN.md): 0 <= allocated <= on_hand, and on_hand and allocated equal the ledger's sums."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory.models import StockLevel
from inventory.selectors import stock_audit
from inventory.services import (
    ReserveItem,
    StockLine,
    stock_consume,
    stock_counts_apply,
    stock_receive,
    stock_reserve,
    stock_unreserve,
)
from oms.actors import Actor
from oms.errors import DomainError
from oms.refs import Ref
from tests.factories import NodeFactory, ProductFactory

ACTOR = Actor.system("property")
REFS = [Ref("orders.orderline", str(i)) for i in range(3)]

operations = st.lists(
    st.one_of(
        st.tuples(st.just("receive"), st.integers(1, 20)),
        st.tuples(st.just("reserve"), st.integers(0, 2), st.integers(1, 8)),
        st.tuples(st.just("unreserve"), st.integers(0, 2)),
        st.tuples(st.just("consume"), st.integers(0, 2), st.integers(1, 8)),
        st.tuples(st.just("count"), st.integers(0, 30)),
    ),
    max_size=15,
)


@pytest.mark.django_db
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=operations)
def test_no_sequence_of_stock_operations_breaks_the_invariants(steps):
    product, node = ProductFactory(), NodeFactory()
    for step in steps:
        kind = step[0]
        try:
            if kind == "receive":
                stock_receive(product=product, node=node, quantity=step[1], actor=ACTOR)
            elif kind == "reserve":
                items = [ReserveItem(product.pk, node.pk, step[2])]
                stock_reserve(items=items, reference=REFS[step[1]], actor=ACTOR)
            elif kind == "unreserve":
                stock_unreserve(reference=REFS[step[1]], actor=ACTOR)
            elif kind == "consume":
                stock_consume(reference=REFS[step[1]], lines=[StockLine(product.pk, node.pk, step[2])], actor=ACTOR)
            else:
                stock_counts_apply(node=node, counts=[(product, step[1])], actor=ACTOR)
        except DomainError:
            pass  # refused (consuming more than is held): nothing may have changed
        stock = StockLevel.objects.filter(product=product, node=node).first()
        if stock is not None:
            assert 0 <= stock.allocated <= stock.on_hand, (step, stock.allocated, stock.on_hand)
        assert stock_audit() == [], step
