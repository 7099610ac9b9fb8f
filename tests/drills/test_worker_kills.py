"""The worker is SIGKILLed in the middle of allocating and in the middle of capturing a payment.

run_stack restarts it; the sweepers take the step the dead worker did not finish. The work is
done exactly once: one charge at the sandbox gateway, the stock reserved once, each event once.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from drills.load import order_body
from inventory.models import Movement, StockLevel
from inventory.selectors import stock_audit
from oms.models import OutboxEvent
from orders.models import Order, OrderEvent
from orders.payments.models import SandboxLedgerEntry
from tests.drills.stack import RESTING, lock_waiter, running_stack, side_connection, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def assert_done_once(order: Order, *, sku: str, reserved_before: int, token: str, since: datetime) -> None:
    assert order.status in RESTING - {"on_hold", "cancelled"}, order.status
    # One charge at the gateway for this card.
    assert SandboxLedgerEntry.objects.filter(token=token, kind="capture", approved=True).count() == 1
    # The stock reserved once: one unit, one allocation in the ledger, books that add up.
    assert reserved(sku) == reserved_before + 1
    moved = Movement.objects.filter(
        stock__product__sku=sku, stock__product__merchant__code="demo", created_at__gte=since
    )
    assert list(moved.values_list("kind", "allocated_delta")) == [("allocation", 1)]
    assert stock_audit() == []
    # Every step once on the timeline, every event once in the outbox.
    # (A fulfilment order's transitions are on its order's timeline too, under their own names.)
    steps = Counter(OrderEvent.objects.filter(order=order).exclude(to_status="").values_list("name", "to_status"))
    assert max(steps.values()) == 1, steps
    events = Counter(
        OutboxEvent.objects.filter(subject_type="orders.order", subject_id=str(order.pk)).values_list("type", flat=True)
    )
    assert events
    assert max(events.values()) == 1, events


def reserved(sku: str) -> int:
    return sum(
        StockLevel.objects.filter(product__sku=sku, product__merchant__code="demo").values_list("allocated", flat=True)
    )


def test_a_worker_killed_mid_allocation_allocates_the_order_exactly_once(tmp_path, redis_broker):
    call_command("seed_demo", stdout=StringIO())
    sku, token = "TSHIRT-BLUE-L", "tok_visa_ok_drill_allocation"
    before, since = reserved(sku), timezone.now()
    with (
        running_stack(tmp_path, port=18021, broker=redis_broker) as stack,
        side_connection() as locker,
        side_connection(autocommit=True) as admin,
    ):
        # Hold the SKU's stock rows: the worker's allocation stops inside its transaction.
        locker.execute("SELECT 1 FROM inventory_stocklevel s JOIN inventory_product p ON p.id = s.product_id"
                       " WHERE p.sku = %s FOR UPDATE OF s", [sku])  # fmt: skip
        status, answer = stack.post(order_body("DRILL-ALLOC-1", sku=sku, token=token))
        assert status == 201, answer
        wait_for(lambda: lock_waiter(admin, besides=locker.info.backend_pid), timeout=90, what="the allocation")
        stack.kill_worker()
        locker.rollback()
        order = wait_for(
            lambda: Order.objects.filter(number=answer["number"], status__in=RESTING).first(),
            timeout=120,
            what="the order to be allocated after the kill",
        )
    assert "worker: killed by SIGKILL" in stack.log.read_text()
    assert_done_once(order, sku=sku, reserved_before=before, token=token, since=since)


@pytest.mark.drill
def test_a_worker_killed_mid_capture_charges_once_and_the_order_moves_on(tmp_path, redis_broker):
    call_command("seed_demo", stdout=StringIO())
    sku, token = "TSHIRT-BLACK-M", "tok_visa_ok_drill_capture"
    before, since = reserved(sku), timezone.now()
    with (
        running_stack(tmp_path, port=18022, broker=redis_broker) as stack,
        side_connection() as gateway_lock,
        side_connection() as answer_lock,
        side_connection(autocommit=True) as admin,
    ):
        # 1. The gateway's books are closed for a moment: the capture request waits at the gateway.
        gateway_lock.execute("LOCK TABLE orders_sandboxledgerentry IN SHARE MODE")
        status, answer = stack.post(order_body("DRILL-CAPTURE-1", sku=sku, token=token))
        assert status == 201, answer
        wait_for(lambda: lock_waiter(admin, besides=gateway_lock.info.backend_pid), timeout=90, what="the capture")
        # 2. Hold the OMS's record of that call, then let the gateway charge: the worker has been
        #    charged but cannot write down the answer ...
        answer_lock.execute(
            "SELECT 1 FROM orders_paymenttransaction t JOIN orders_payment p ON p.id = t.payment_id"
            " JOIN orders_order o ON o.id = p.order_id WHERE o.number = %s FOR UPDATE OF t",
            [answer["number"]],
        )
        gateway_lock.rollback()
        wait_for(
            lambda: SandboxLedgerEntry.objects.filter(token=token, kind="capture").exists(),
            timeout=30,
            what="the gateway to charge",
        )
        # 3. ... and dies there.
        stack.kill_worker()
        answer_lock.rollback()
        order = wait_for(
            lambda: Order.objects.filter(number=answer["number"], status__in=RESTING).first(),
            timeout=180,
            what="the order to move on after the kill",
        )
    assert_done_once(order, sku=sku, reserved_before=before, token=token, since=since)
