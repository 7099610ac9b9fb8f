"""Backorders surface as exceptions: units routing could not place at once, and an order waiting
longer than OMS_BACKORDER_AGE_HOURS by the beat job; both close when the units are allocated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.routing.models import Backorder
from fulfillment.routing.services import backorders_age_detect, order_allocate
from inventory.services import stock_receive
from oms.models import OpsException
from tests.routing.conftest import ACTOR

pytestmark = pytest.mark.django_db


def open_exceptions(order, type):
    return OpsException.objects.filter(
        type=type, subject_type="orders.order", subject_id=str(order.pk), status__in=OpsException.OPEN_STATUSES
    )


def test_an_old_backorder_raises_one_exception_resolved_when_the_units_are_allocated(
    net, settings, django_capture_on_commit_callbacks
):
    settings.OMS_BACKORDER_AGE_HOURS = 24
    net.stock("DC-EAST", "A", 72)
    order = net.order(("A", 500))
    order_allocate(order_id=order.pk)
    unfilled = open_exceptions(order, "unfulfillable_units").get()
    assert "428 of 500 × A" in unfilled.message
    assert unfilled.order_number == order.number

    now = timezone.now()
    assert backorders_age_detect(now=now) == 0  # younger than its threshold
    Backorder.objects.filter(order=order).update(created_at=now - timedelta(hours=25))
    assert backorders_age_detect(now=now) == 1
    assert backorders_age_detect(now=now + timedelta(hours=1)) == 0  # deduplicated while open
    aged = open_exceptions(order, "backorder_age").get()
    assert "Waiting 25 h" in aged.message
    assert "428 of 500 × A" in aged.message

    with django_capture_on_commit_callbacks(execute=True):
        stock_receive(product=net.product("A"), node=net.node("DC-EAST"), quantity=428, actor=ACTOR)
    order.refresh_from_db()
    assert order.lines.get().qty_backordered == 0
    assert not open_exceptions(order, "backorder_age").exists()
    assert not open_exceptions(order, "unfulfillable_units").exists()
    aged.refresh_from_db()
    assert aged.status == "resolved"
    assert "Units allocated" in aged.notes


def test_a_fully_allocated_order_raises_nothing(net):
    net.stock("DC-EAST", "A", 5)
    order = net.order(("A", 2))
    order_allocate(order_id=order.pk)
    assert not OpsException.objects.filter(order_pk=order.pk).exists()
