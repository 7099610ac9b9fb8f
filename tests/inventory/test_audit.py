from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from inventory.models import StockLevel
from inventory.services import stock_adjust, stock_receive, stock_transfer
from oms.actors import Actor
from tests.factories import NodeFactory, ProductFactory

ACTOR = Actor.system("tests")


@pytest.fixture
def moved(db):
    product, a, b = ProductFactory(), NodeFactory(), NodeFactory()
    stock_receive(product=product, node=a, quantity=10, actor=ACTOR)
    stock_adjust(product=product, node=a, quantity=-1, actor=ACTOR, reason="damage")
    stock_transfer(product=product, from_node=a, to_node=b, quantity=4, actor=ACTOR)
    return product, a, b


def test_it_reports_a_balanced_ledger(moved, capsys):
    call_command("inventory_audit")
    assert "2 stock rows checked: all equal their ledger sums." in capsys.readouterr().out


def test_it_prints_each_discrepancy_and_fails(moved, capsys):
    product, a, _ = moved
    StockLevel.objects.filter(product=product, node=a).update(on_hand=99)  # a write that bypassed the services
    with pytest.raises(CommandError, match="1 of 2 stock rows disagree"):
        call_command("inventory_audit")
    out = capsys.readouterr().out
    assert f"{product.sku} @ {a.code}" in out
    assert "on_hand 99 vs ledger 5" in out


def test_it_transfers_unreserved_stock_between_nodes(moved):
    product, a, b = moved
    assert StockLevel.objects.get(product=product, node=a).on_hand == 5
    assert StockLevel.objects.get(product=product, node=b).on_hand == 4


def test_it_refuses_to_transfer_reserved_units(moved):
    from inventory.services import ReserveItem, stock_reserve
    from oms.errors import DomainError
    from oms.refs import Ref

    product, a, b = moved
    stock_reserve(items=[ReserveItem(product.pk, a.pk, 4)], reference=Ref("orders.orderline", "1"), actor=ACTOR)
    with pytest.raises(DomainError, match="1 unreserved unit"):
        stock_transfer(product=product, from_node=a, to_node=b, quantity=2, actor=ACTOR)


def test_it_restocks_returns_and_announces_them(moved):
    from inventory.models import Movement
    from oms.models import OutboxEvent

    product, a, _ = moved
    stock_receive(product=product, node=a, quantity=1, actor=ACTOR, kind=Movement.Kind.RETURN_RESTOCK)
    assert StockLevel.objects.get(product=product, node=a).on_hand == 6
    event = OutboxEvent.objects.filter(type="inventory.received").order_by("created_at").last()
    assert event.payload["kind"] == "return_restock"
