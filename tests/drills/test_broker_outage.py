"""The broker is unreachable for 30 s while orders flow: every order and every event gets through.

A private redis-server on a spare port (never the shared one) is stopped and started again empty.
"""

from __future__ import annotations

import time
from io import StringIO

import pytest
from django.core.management import call_command

from drills.load import SKUS, order_body
from oms.models import OutboxEvent
from orders.models import Order
from tests.drills.stack import RESTING, running_stack, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.drill]

OUTAGE_SECONDS = 30


def test_orders_and_events_get_through_a_30_second_broker_outage(tmp_path, private_redis):
    call_command("seed_demo", stdout=StringIO())
    answers = []
    broker = private_redis.url
    with running_stack(tmp_path, port=18024, broker=broker) as stack:
        for n in range(3):
            answers.append(stack.post(order_body(f"DRILL-BROKER-{n}", sku=SKUS[n % len(SKUS)]))[0])
        private_redis.stop()  # killed: what it held is gone, as after a crash without persistence
        down_until = time.monotonic() + OUTAGE_SECONDS
        n = 3
        while time.monotonic() < down_until:
            answers.append(stack.post(order_body(f"DRILL-BROKER-{n}", sku=SKUS[n % len(SKUS)]))[0])
            n += 1
            time.sleep(3)
        private_redis.start()
        for m in range(n, n + 3):
            answers.append(stack.post(order_body(f"DRILL-BROKER-{m}", sku=SKUS[m % len(SKUS)]))[0])
        orders = Order.objects.filter(external_id__startswith="DRILL-BROKER-")
        wait_for(
            lambda: not orders.exclude(status__in=RESTING).exists(),
            timeout=240,
            what=f"every order to take its steps: {list(orders.values_list('status', flat=True))}",
        )
        wait_for(
            lambda: not OutboxEvent.objects.filter(dispatched_at__isnull=True).exists(),
            timeout=240,
            what="every event to be delivered",
        )
    assert set(answers) == {201}, answers  # the API kept taking orders while the broker was away
    assert orders.count() == len(answers)
