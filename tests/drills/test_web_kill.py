"""The web process is killed after an order's commit and before its answer: a retry gets the order."""

from __future__ import annotations

import threading
from io import StringIO

import pytest
from django.core.management import call_command

from drills.load import order_body
from oms.models import IdempotencyRecord
from orders.models import Order
from tests.drills.stack import running_stack, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), pytest.mark.drill]


def test_a_web_process_killed_between_commit_and_answer_leaves_the_order_for_the_retry(tmp_path, private_redis):
    call_command("seed_demo", stdout=StringIO())
    body, key = order_body("DRILL-WEB-1"), "drill-web-1"
    answers: list = []
    with running_stack(tmp_path, port=18023, broker=private_redis.url, IDEMPOTENCY_LEASE_SECONDS="3") as stack:
        # 1. The broker hangs: after its commit (order and stored reply together) the request
        #    waits on the order-chain job it sends, before it answers.
        private_redis.pause()
        first = threading.Thread(target=lambda: answers.append(stack.post(body, **{"Idempotency-Key": key})))
        first.start()
        wait_for(lambda: Order.objects.filter(external_id="DRILL-WEB-1").exists(), timeout=60, what="the commit")
        # 2. Kill the process that would have answered, and let the broker go on.
        stack.kill_web_workers()
        private_redis.resume()
        first.join(timeout=60)
        [(status, _error)] = answers
        assert status == 0  # no answer: the connection died with the process
        # The client retries the same body with the same key: the reply committed with the order.
        retry_status, retry = stack.post(body, **{"Idempotency-Key": key})
        plain_status, plain = stack.post(body)  # and without a key, the same body
    order = Order.objects.get(external_id="DRILL-WEB-1")
    assert (retry_status, retry["number"]) == (201, order.number)  # the first answer, replayed
    assert (plain_status, plain["number"]) == (200, order.number)
    assert Order.objects.filter(external_id="DRILL-WEB-1").count() == 1
    assert IdempotencyRecord.objects.get(key=key).response_status == 201
