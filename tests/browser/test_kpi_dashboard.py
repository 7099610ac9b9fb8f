"""The KPI dashboard in headless Chromium: every chart draws (with its bands) and a screenshot is saved."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group

from oms.permissions import OPERATIONS
from tests.browser.conftest import screenshot
from tests.factories import OpsExceptionFactory, UserFactory
from tests.reports.world import at, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# For each canvas: is there a Chart.js chart on it, how many points it plotted, and whether the
# canvas holds painted pixels.
DRAWN = """() => [...document.querySelectorAll('canvas[data-kpi-chart]')].map((canvas) => {
  const chart = Chart.getChart(canvas);
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) painted++;
  return {id: canvas.dataset.kpiChart, chart: !!chart, datasets: chart ? chart.data.datasets.map((d) => d.label) : [],
          points: chart ? chart.data.datasets[0].data.filter((v) => v !== null).length : 0, painted};
})"""


def test_every_chart_draws_with_its_bands(page: Any, login: Any) -> None:
    world = build_world()
    exc = OpsExceptionFactory(merchant=world.merchant, type="pick_delay")
    type(exc).objects.filter(pk=exc.pk).update(created_at=at(3))
    user = UserFactory(username="ops")
    user.groups.add(Group.objects.get(name=OPERATIONS))
    login(user)
    page.goto(f"/admin/reports/kpiday/?since=2026-11-01&until=2026-11-10&merchant={world.merchant.pk}")
    charts = page.evaluate(DRAWN)
    assert [c["id"] for c in charts] == [
        "order_accuracy", "perfect_order_rate", "cycle_time", "on_time_delivery", "fill_rate", "split_rate",
        "backorder_rate", "cost_per_order", "returns", "exceptions",
    ]  # fmt: skip
    for chart in charts:
        assert chart["chart"], chart
        assert chart["points"] > 0, chart
        assert chart["painted"] > 1000, chart  # lines, bands and axes, not a blank canvas
    bands = {c["id"]: c["datasets"] for c in charts}
    for kpi in ("order_accuracy", "perfect_order_rate", "cycle_time", "on_time_delivery", "fill_rate"):
        assert {"solid", "leaders"} <= set(bands[kpi]), kpi
    assert "Order accuracy\t77.78 %" in page.locator("#kpi-summary").inner_text()
    screenshot(page, "kpi-dashboard/finance-reads-kpis")
