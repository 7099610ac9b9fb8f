"""End to end with a real Celery worker on Redis: the capture job runs in another process."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from orders.models import Order, Payment
from orders.payments.models import SandboxLedgerEntry
from tests.payments.helpers import body, reached_ready

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(condition, what: str, seconds: float = 60) -> None:
    """Poll until the worker has done its part (a deadline for a stuck worker, not a timing)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.1)


def test_a_real_worker_captures_an_authorize_order_and_moves_it_to_ready(api, celery_worker_process):
    response = api.client.post("/api/v1/orders/", body(), format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "validated"
    number = response.json()["number"]
    wait_for(lambda: reached_ready(Order.objects.get(number=number)), "the order to reach ready")
    paid = Payment.objects.get(order__number=number)
    assert (paid.status, paid.captured_amount) == ("captured", Decimal("48.38"))
    assert SandboxLedgerEntry.objects.filter(kind="capture").count() == 1
