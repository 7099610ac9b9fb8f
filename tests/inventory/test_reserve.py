from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from inventory.models import Movement, StockLevel
from inventory.selectors import stock_atp, stock_audit
from inventory.services import ReserveItem, StockLine, stock_consume, stock_reserve, stock_unreserve
from oms.actors import Actor
from oms.errors import Conflict
from oms.refs import Ref
from tests.factories import NodeFactory, ProductFactory, StockLevelFactory

ACTOR = Actor.system("tests")
ORDER_1 = Ref("orders.orderline", "1")
ORDER_2 = Ref("orders.orderline", "2")


@pytest.fixture
def stock(db):
    product = ProductFactory()
    return StockLevelFactory(product=product, node=NodeFactory(), on_hand=10)


def reserve(stock, qty, ref=ORDER_1, **kw):
    return stock_reserve(items=[ReserveItem(stock.product_id, stock.node_id, qty, **kw)], reference=ref, actor=ACTOR)


def test_it_reserves_and_writes_an_allocation_row_with_the_reference(stock):
    result = reserve(stock, 3)
    assert result.ok
    assert [(r.quantity, r.reference) for r in result.reserved] == [(3, ORDER_1)]
    stock.refresh_from_db()
    assert (stock.on_hand, stock.allocated, stock_atp(stock)) == (10, 3, 7)
    row = Movement.objects.get(kind="allocation")
    assert (row.allocated_delta, row.on_hand_delta, row.ref_type, row.ref_id) == (3, 0, "orders.orderline", "1")
    assert stock_audit() == []


def test_it_reserves_all_lines_or_none_and_names_the_failing_line(stock):
    other = StockLevelFactory(product=ProductFactory(merchant=stock.product.merchant), node=stock.node, on_hand=2)
    result = stock_reserve(
        items=[ReserveItem(stock.product_id, stock.node_id, 4), ReserveItem(other.product_id, other.node_id, 5)],
        reference=ORDER_1,
        actor=ACTOR,
    )
    assert not result.ok
    assert result.reserved == []
    assert (result.failure.index, result.failure.code, result.failure.available) == (1, "insufficient_stock", 2)
    assert StockLevel.objects.filter(allocated__gt=0).count() == 0
    assert not Movement.objects.filter(kind="allocation").exists()


def test_it_never_breaks_a_floor_or_the_safety_stock(stock):
    StockLevel.objects.filter(pk=stock.pk).update(safety_stock=2)
    refused = reserve(stock, 6, floor=3)
    assert refused.failure.code == "floor"
    assert refused.failure.available == 5
    assert reserve(stock, 5, floor=3).ok
    assert reserve(stock, 3).ok
    assert reserve(stock, 1).failure.code == "insufficient_stock"
    stock.refresh_from_db()
    assert (stock.allocated, stock_atp(stock)) == (8, 0)


def test_it_refuses_a_line_at_a_node_without_stock(db):
    product, node = ProductFactory(), NodeFactory()
    result = stock_reserve(items=[ReserveItem(product.pk, node.pk, 1)], reference=ORDER_1, actor=ACTOR)
    assert result.failure.code == "no_stock"


def test_it_refuses_a_non_positive_quantity(stock):
    assert reserve(stock, 0).failure.code == "invalid_quantity"


def test_it_gives_each_line_its_own_reference_when_given(stock):
    items = [ReserveItem(stock.product_id, stock.node_id, 1, reference=ORDER_2)]
    stock_reserve(items=items, reference=ORDER_1, actor=ACTOR)
    assert Movement.objects.get(kind="allocation").ref_id == "2"


def test_two_lines_of_one_stock_row_write_a_ledger_row_each_with_its_reference(stock):
    items = [
        ReserveItem(stock.product_id, stock.node_id, 1, reference=ORDER_1),
        ReserveItem(stock.product_id, stock.node_id, 2, reference=ORDER_2),
    ]
    assert stock_reserve(items=items, reference=ORDER_1, actor=ACTOR).ok
    rows = Movement.objects.filter(kind="allocation").order_by("id")
    assert list(rows.values_list("ref_id", "allocated_delta", "actor_label")) == [("1", 1, "tests"), ("2", 2, "tests")]
    stock.refresh_from_db()
    assert stock.allocated == 3
    assert stock_audit() == []


def test_it_unreserves_exactly_what_a_reference_holds(stock):
    reserve(stock, 3, ORDER_1)
    reserve(stock, 2, ORDER_2)
    reserve(stock, 1, ORDER_1)
    released = stock_unreserve(reference=ORDER_1, actor=ACTOR)
    assert [r.quantity for r in released] == [4]
    stock.refresh_from_db()
    assert stock.allocated == 2
    assert stock_unreserve(reference=ORDER_1, actor=ACTOR) == []
    assert stock_audit() == []


def test_it_unreserves_part_of_a_reservation(stock):
    reserve(stock, 3)
    stock_unreserve(reference=ORDER_1, actor=ACTOR, lines=[StockLine(stock.product_id, stock.node_id, 1)])
    stock.refresh_from_db()
    assert stock.allocated == 2


def test_it_consumes_on_shipment(stock):
    reserve(stock, 3)
    stock_consume(reference=ORDER_1, lines=[StockLine(stock.product_id, stock.node_id, 2)], actor=ACTOR)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.allocated) == (8, 1)
    assert Movement.objects.get(kind="shipment").on_hand_delta == -2
    assert stock_audit() == []


def test_it_refuses_to_ship_more_than_the_reference_holds(stock):
    reserve(stock, 1)
    with pytest.raises(Conflict):
        stock_consume(reference=ORDER_1, lines=[StockLine(stock.product_id, stock.node_id, 2)], actor=ACTOR)
    stock.refresh_from_db()
    assert (stock.on_hand, stock.allocated) == (10, 1)


def test_it_has_the_database_refuse_allocated_above_on_hand(stock):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=stock.pk).update(allocated=11)


def test_it_has_the_database_refuse_negative_allocated(stock):
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=stock.pk).update(allocated=-1)


def test_it_refuses_to_change_a_ledger_row_in_python(stock):
    reserve(stock, 1)
    row = Movement.objects.get(kind="allocation")
    row.allocated_delta = 5
    with pytest.raises(ValueError, match="append-only"):
        row.save()
    with pytest.raises(ValueError, match="append-only"):
        row.delete()


@pytest.mark.postgres
def test_it_has_the_database_refuse_to_change_or_delete_a_ledger_row(stock):
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Movement.objects.filter(stock=stock).update(on_hand_delta=99)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        Movement.objects.filter(stock=stock)._raw_delete(Movement.objects.db)
