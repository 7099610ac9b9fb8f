"""A PostgreSQL connection terminated mid-transaction: a clean 503, nothing half-written, the retry works."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from orders.models import Customer, Order
from tests.drills.stack import lock_waiter, side_connection, wait_for
from tests.payments.helpers import body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_a_terminated_connection_fails_the_request_cleanly_and_the_retry_succeeds(api):
    order = body(customer={"email": "terminated@example.com", "first_name": "Ana", "last_name": "Silva"})
    answers: list = []
    with side_connection() as locker, side_connection(autocommit=True) as admin:
        # Hold the order lines back: the capture's transaction stops after writing its header.
        locker.execute("LOCK TABLE orders_orderline IN SHARE MODE")

        def post() -> None:
            try:
                answers.append(api.client.post("/api/v1/orders/", order, format="json"))
            finally:
                connection.close()

        thread = threading.Thread(target=post)
        thread.start()
        waiting = wait_for(
            lambda: lock_waiter(admin, besides=locker.info.backend_pid),
            timeout=30,
            what="the capture to reach its lines",
        )
        admin.execute("SELECT pg_terminate_backend(%s)", [waiting])
        thread.join(timeout=30)
        locker.rollback()

    [failed] = answers
    assert failed.status_code == 503
    assert failed.json()["errors"][0]["code"] == "database_unavailable"
    assert failed["Retry-After"] == "1"
    # Nothing of the first attempt's order was kept. The customer is upserted in a statement of
    # its own before the order's transaction (as the order number is drawn), so its row may stay.
    assert not Order.objects.filter(external_id=order["external_id"]).exists()
    assert Customer.objects.filter(email="terminated@example.com").count() <= 1

    retry = api.client.post("/api/v1/orders/", order, format="json")
    assert retry.status_code == 201, retry.json()
    assert Order.objects.filter(external_id=order["external_id"]).count() == 1
    [customer] = Customer.objects.filter(email="terminated@example.com")  # the retry took the same row
    assert Order.objects.get(external_id=order["external_id"]).customer_id == customer.pk
