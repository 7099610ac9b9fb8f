from __future__ import annotations

import pytest

from oms.actors import Actor
from oms.alerts import exception_close, exception_raise
from oms.models import OpsException, OutboxEvent
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_it_raises_one_open_exception_per_type_and_subject():
    order = OrderFactory()
    first = exception_raise(type="pick_delay", subject=order, message="late", merchant=order.merchant)
    again = exception_raise(type="pick_delay", subject=order, message="still late", merchant=order.merchant)
    other = exception_raise(type="carrier_miss", subject=order, message="lost", merchant=order.merchant)
    assert first.pk == again.pk != other.pk
    assert OutboxEvent.objects.filter(type="exception.raised").count() == 2


def test_a_closed_exception_can_be_raised_again():
    order = OrderFactory()
    first = exception_raise(type="pick_delay", subject=order, message="late", merchant=order.merchant)
    exception_close(exception=first, actor=Actor.system("test"), note="picked")
    second = exception_raise(type="pick_delay", subject=order, message="late again", merchant=order.merchant)
    assert second.pk != first.pk
    assert OpsException.objects.get(pk=first.pk).status == "resolved"
    assert "picked" in OpsException.objects.get(pk=first.pk).notes
    assert OutboxEvent.objects.filter(type="exception.resolved").count() == 1
