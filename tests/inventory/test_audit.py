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
