"""The KPI dashboard, its drill-down and exports, and the finance day, as each group sees them."""

from __future__ import annotations

import csv
import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from oms.permissions import ADMIN, CSR, CSR_LEAD, FINANCE, OPERATIONS
from tests.factories import OpsExceptionFactory, UserFactory
from tests.reports.world import World, build_world

pytestmark = pytest.mark.django_db
DASHBOARD = "admin:reports_kpiday_changelist"
RANGE = {"since": "2026-11-01", "until": "2026-11-30"}


def user_in(group: str):
    user = UserFactory(username=f"{group.lower().replace(' ', '-')}-user")
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def world() -> World:
    return build_world()


def test_admin_and_operations_see_every_kpi_and_drill_down(client, world: World) -> None:
    for group in (ADMIN, OPERATIONS):
        client.force_login(user_in(group))
        page = client.get(reverse(DASHBOARD), {**RANGE, "merchant": world.merchant.pk})
        assert page.status_code == 200
        html = page.content.decode()
        assert "Perfect order rate" in html
        assert 'data-kpi-chart="fill_rate"' in html
        drill = client.get(reverse("admin:reports_kpi_orders"), {**RANGE, "kpi": "split_rate"})
        assert drill.status_code == 200
        assert "KPI-B" in drill.content.decode()
        assert "KPI-A" not in drill.content.decode()


def test_each_table_exports_as_csv(client, world: World) -> None:
    client.force_login(user_in(OPERATIONS))
    summary = client.get(reverse(DASHBOARD), {**RANGE, "merchant": world.merchant.pk, "export": "summary"})
    rows = list(csv.reader(io.StringIO(summary.content.decode())))
    assert rows[0][:2] == ["KPI", "value"]
    assert rows[6][:2] == ["Fill rate", "81.82"]
    daily = client.get(reverse(DASHBOARD), {**RANGE, "export": "daily"})
    assert len(list(csv.reader(io.StringIO(daily.content.decode())))) == 1 + 30
    late = client.get(reverse("admin:reports_kpi_orders"), {**RANGE, "kpi": "on_time_delivery", "export": "orders"})
    assert [r[0] for r in csv.reader(io.StringIO(late.content.decode()))] == ["order", "KPI-C"]


@pytest.mark.parametrize("group", [CSR_LEAD, None])
def test_an_exceptions_only_viewer_sees_the_sla_part_alone(client, world: World, group: str | None) -> None:
    """The CSR lead group, or any user given view_exception_kpis without view_kpis."""
    OpsExceptionFactory(merchant=world.merchant, type="pick_delay")
    if group:
        lead = user_in(group)
    else:
        lead = UserFactory(username="lead")
        lead.user_permissions.add(Permission.objects.get(codename="view_exception_kpis"))
    client.force_login(lead)
    html = client.get(reverse(DASHBOARD)).content.decode()
    assert "SLA attainment" in html
    assert "pick_delay" in html
    assert "Perfect order rate" not in html
    assert client.get(reverse(DASHBOARD), {"export": "summary"}).status_code == 200  # falls back to the page
    assert client.get(reverse("admin:reports_kpi_orders"), {"kpi": "split_rate"}).status_code == 403


def test_a_csr_does_not_see_the_dashboard_and_finance_sees_its_day(client, world: World) -> None:
    client.force_login(user_in(CSR))
    assert client.get(reverse(DASHBOARD)).status_code == 403
    assert client.get(reverse("admin:reports_finance_day")).status_code == 403
    client.force_login(user_in(FINANCE))
    assert client.get(reverse("admin:reports_finance_day"), {"date": "2026-11-10"}).status_code == 200
    download = client.get(reverse("admin:reports_finance_day"), {"date": "2026-11-10", "export": "csv"})
    assert download.content.decode().startswith("date,merchant,currency,captures")
