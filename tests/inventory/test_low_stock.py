from __future__ import annotations

import pytest

from inventory.models import LowStock, StockLevel
from inventory.services import ReserveItem, stock_receive, stock_reserve, stock_settings_update, stock_unreserve
from oms.actors import Actor
from oms.models import OpsException, OutboxEvent
from oms.refs import Ref
from tests.factories import NodeFactory, ProductFactory, StockLevelFactory

ACTOR = Actor.system("tests")


@pytest.fixture
def stock(db):
    stock = StockLevelFactory(product=ProductFactory(), node=NodeFactory(), on_hand=10)
    return stock_settings_update(stock=stock, actor=ACTOR, reorder_threshold=5)


def reserve(stock, qty, ref="1"):
    items = [ReserveItem(stock.product_id, stock.node_id, qty)]
    assert stock_reserve(items=items, reference=Ref("orders.orderline", ref), actor=ACTOR).ok


def test_it_raises_low_stock_once_per_crossing(stock):
    reserve(stock, 5)
    assert not OpsException.objects.filter(type="low_stock").exists()  # ATP 5 is not below 5
    reserve(stock, 1, "2")
    reserve(stock, 1, "3")
    reserve(stock, 1, "4")
    assert OpsException.objects.filter(type="low_stock", status="open").count() == 1
    assert OutboxEvent.objects.filter(type="inventory.low_stock").count() == 1
    event = OutboxEvent.objects.get(type="inventory.low_stock")
    assert (event.payload["atp"], event.payload["reorder_threshold"]) == (4, 5)
    assert list(LowStock.objects.filter(low_stock=True)) == [stock]


def test_it_closes_the_exception_when_stock_recovers_and_alerts_again_on_the_next_crossing(stock):
    reserve(stock, 8)
    stock_unreserve(reference=Ref("orders.orderline", "1"), actor=ACTOR)
    exc = OpsException.objects.get(type="low_stock")
    assert exc.status == "resolved"
    assert StockLevel.objects.get(pk=stock.pk).low_stock is False
    reserve(stock, 9, "2")
    assert OpsException.objects.filter(type="low_stock", status="open").count() == 1
    assert OutboxEvent.objects.filter(type="inventory.low_stock").count() == 2


def test_it_closes_low_stock_after_a_receipt(stock):
    reserve(stock, 8)
    stock_receive(product=stock.product, node=stock.node, quantity=20, actor=ACTOR)
    assert not OpsException.objects.filter(type="low_stock", status="open").exists()


def test_it_alerts_when_a_raised_threshold_is_crossed(stock):
    stock_settings_update(stock=stock, actor=ACTOR, reorder_threshold=11)
    assert OpsException.objects.filter(type="low_stock", status="open").exists()
