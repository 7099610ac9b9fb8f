"""The beat jobs: the KPI rollup of recent days and the ERP export of recent days."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from orders.models import Order
from reports.models import ErpRecord, KpiDay, KpiRollupRun
from reports.rollup import ROLLUP_LOOKBACK_DAYS
from reports.tasks import erp_export, kpis_rollup
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


def test_the_rollup_job_recomputes_yesterday_and_the_days_that_may_still_change() -> None:
    yesterday = timezone.now().date() - dt.timedelta(days=1)
    order = OrderFactory()
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=1))
    kpis_rollup.delay()
    days = sorted(KpiRollupRun.objects.values_list("day", flat=True))
    assert days[0] == yesterday - dt.timedelta(days=ROLLUP_LOOKBACK_DAYS - 1)
    assert days[-1] == yesterday  # today is never rolled up: it is still happening
    assert KpiDay.objects.get().orders_captured == 1


def test_the_erp_job_writes_recent_days_once() -> None:
    order = OrderFactory()
    OrderLineFactory(order=order)
    Order.objects.filter(pk=order.pk).update(created_at=timezone.now() - dt.timedelta(days=2))
    assert erp_export.delay().get() == 1
    assert erp_export.delay().get() == 0
    record = ErpRecord.objects.get()
    assert (record.kind, record.document["number"], len(record.document["lines"])) == ("order", order.number, 1)
