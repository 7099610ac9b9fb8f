"""Two rollups of the same days at once (a slow nightly run and a manual one) both succeed."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection

from reports.models import KpiDay
from reports.rollup import kpi_days_rollup
from tests.reports.world import build_world

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_rollups_of_the_same_days_at_once_leave_one_row_each() -> None:
    build_world()
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start.wait()
            kpi_days_rollup(since=dt.date(2026, 11, 1), until=dt.date(2026, 11, 30))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert KpiDay.objects.count() == 8
