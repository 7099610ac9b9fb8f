"""Worker connections outlive tasks (CELERY_DB_REUSE_MAX); a broken one is not handed on."""

from __future__ import annotations

import pytest
from django.db import connection

from oms.celery import app
from orders.models import Order
from tests.drills.stack import side_connection

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@app.task
def count_orders() -> int:
    """A task whose first statement runs outside a transaction, where no atomic block's failed
    rollback closes the broken connection for it."""
    return Order.objects.count()


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_task_that_finds_its_connection_terminated_leaves_the_next_task_a_new_one() -> None:
    assert count_orders.apply().successful()
    reused = backend_pid()
    assert count_orders.apply().successful()
    assert backend_pid() == reused  # kept across tasks

    with side_connection(autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [reused])
    assert count_orders.apply().failed()  # the task that met the dead connection

    assert count_orders.apply().successful()
    assert backend_pid() != reused
