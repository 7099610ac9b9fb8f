"""A PostgreSQL connection terminated mid-transaction: a clean 503, nothing half-written, the retry works."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from orders.models import Customer, Order
from tests.payments.helpers import body

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def side_connection() -> psycopg.Connection:
    db = settings.DATABASES["default"]
    return psycopg.connect(
        dbname=connection.settings_dict["NAME"], user=db.get("USER") or None, password=db.get("PASSWORD") or None,
        host=db.get("HOST") or "127.0.0.1", port=db.get("PORT") or 5432,
    )  # fmt: skip


def test_a_terminated_connection_fails_the_request_cleanly_and_the_retry_succeeds(api):
    order = body(customer={"email": "terminated@example.com", "first_name": "Ana", "last_name": "Silva"})
    answers: list = []
    with side_connection() as locker, side_connection() as admin:
        admin.autocommit = True
        # Hold the order lines back: the capture's transaction stops after writing its header.
        locker.execute("LOCK TABLE orders_orderline IN SHARE MODE")

        def post() -> None:
            try:
                answers.append(api.client.post("/api/v1/orders/", order, format="json"))
            finally:
                connection.close()

        thread = threading.Thread(target=post)
        thread.start()
        deadline = time.monotonic() + 30
        while True:
            row = admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                " AND pid <> %s",
                [locker.info.backend_pid],
            ).fetchone()
            if row:
                break
            assert time.monotonic() < deadline, "the capture never reached its lines"
            time.sleep(0.05)
        admin.execute("SELECT pg_terminate_backend(%s)", [row[0]])
        thread.join(timeout=30)
        locker.rollback()

    [failed] = answers
    assert failed.status_code == 503
    assert failed.json()["errors"][0]["code"] == "database_unavailable"
    assert failed["Retry-After"] == "1"
    # Nothing of the first attempt was kept: no order, no customer.
    assert not Order.objects.filter(external_id=order["external_id"]).exists()
    assert not Customer.objects.filter(email="terminated@example.com").exists()

    retry = api.client.post("/api/v1/orders/", order, format="json")
    assert retry.status_code == 201, retry.json()
    assert Order.objects.filter(external_id=order["external_id"]).count() == 1
