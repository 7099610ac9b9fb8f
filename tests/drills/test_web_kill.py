"""The web process is killed after an order's commit and before its answer: a retry gets the order."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command

from drills.load import order_body
from oms.models import IdempotencyRecord
from orders.models import Order
from tests.drills.stack import lock_waiter, running_stack, side_connection, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.drill]


def test_a_web_process_killed_between_commit_and_answer_leaves_the_order_for_the_retry(tmp_path, redis_broker):
    call_command("seed_demo", stdout=StringIO())
    body, key = order_body("DRILL-WEB-1"), "drill-web-1"
    answers: list = []
    with (
        running_stack(tmp_path, port=18023, broker=redis_broker, IDEMPOTENCY_LEASE_SECONDS="3") as stack,
        side_connection() as order_lock,
        side_connection() as answer_lock,
        side_connection(autocommit=True) as admin,
    ):
        # 1. Orders wait to be written: the request claims its key and stops at the order.
        order_lock.execute("LOCK TABLE orders_order IN SHARE MODE")
        first = threading.Thread(target=lambda: answers.append(stack.post(body, **{"Idempotency-Key": key})))
        first.start()
        wait_for(lambda: lock_waiter(admin, besides=order_lock.info.backend_pid), timeout=60, what="the capture")
        # 2. Hold the key's record, where the answer is written down, and let the order commit ...
        answer_lock.execute("SELECT 1 FROM oms_idempotencyrecord WHERE key = %s FOR UPDATE", [key])
        order_lock.rollback()
        wait_for(lambda: Order.objects.filter(external_id="DRILL-WEB-1").exists(), timeout=30, what="the commit")
        # 3. ... then kill the process that would have answered.
        stack.kill_web_workers()
        answer_lock.rollback()
        first.join(timeout=60)
        [(status, _error)] = answers
        assert status == 0  # no answer: the connection died with the process
        # The client retries the same body with the same key.
        retry_status, retry = wait_for(
            lambda: (r := stack.post(body, **{"Idempotency-Key": key}))[0] != 409 and r,
            timeout=30,
            what="the claim of the dead request to be released",
        )
        plain_status, plain = stack.post(body)  # and without a key, the same body
    order = Order.objects.get(external_id="DRILL-WEB-1")
    assert (retry_status, retry["number"]) == (200, order.number)
    assert (plain_status, plain["number"]) == (200, order.number)
    assert Order.objects.filter(external_id="DRILL-WEB-1").count() == 1
    assert IdempotencyRecord.objects.get(key=key).response_status == 200
