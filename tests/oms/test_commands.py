from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command

from oms.models import Merchant
from oms.tenancy import api_key_authenticate
from orders.models import Order


@pytest.mark.django_db
def test_issue_api_token_prints_a_working_key_and_can_create_the_merchant():
    out = StringIO()
    call_command("issue_api_token", "newshop", "--create", stdout=out)
    key = api_key_authenticate(out.getvalue().strip())
    assert key is not None
    assert key.merchant.code == "newshop"
    with pytest.raises(Exception, match="No merchant"):
        call_command("issue_api_token", "ghost", stdout=StringIO())


# Committed transactions: the relay and the jobs run after each commit, as with manage.py.
@pytest.mark.django_db(transaction=True)
def test_seed_demo_is_idempotent():
    from axes.models import AccessAttempt, AccessFailureLog

    from fulfillment.execution.models import NodeMessage
    from reports.models import ErpRecord, KpiDay

    def state():
        return (
            Merchant.objects.count(), Order.objects.count(), set(Order.objects.values_list("status", flat=True)),
            sorted(KpiDay.objects.values_list("day", "channel_id", "orders_captured")), ErpRecord.objects.count(),
            NodeMessage.objects.count(), list(AccessAttempt.objects.values_list("failures_since_start", flat=True)),
            AccessFailureLog.objects.count(),
        )  # fmt: skip

    call_command("seed_demo", stdout=StringIO())
    first = state()
    call_command("seed_demo", stdout=StringIO())
    assert state() == first
    assert first[1] >= 30
    assert {"released", "on_hold", "cancelled", "shipped", "delivered"} <= first[2]
    assert first[3], "the KPI rollup wrote yesterday's figures"
    assert first[4], "the ERP export wrote the demo's documents"
    assert first[5], "the integrated store got its messages"
    assert (first[6], first[7]) == ([1], 1), "one mistyped password, well under the lock-out"


def _check_deploy(env):
    # The browser tests' conftest sets DJANGO_ALLOW_ASYNC_UNSAFE in this process (async.E001 in a
    # deployment): the deployment being checked does not inherit it.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "ERROR"],
        cwd=settings.BASE_DIR, env={**inherited, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_check_deploy_fails_loudly_on_the_development_secret():
    result = _check_deploy({"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": settings.DEV_SECRET_KEY})
    assert result.returncode != 0
    assert "oms.E001" in result.stderr + result.stdout


def test_check_deploy_passes_with_production_settings():
    result = _check_deploy(
        {"DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": "x" * 20 + "a-long-random-production-secret-" + "y" * 20,
         "DJANGO_ALLOWED_HOSTS": "oms.example.com",
         "CHANNEL_CREDENTIALS_KEY": "8wFhK1ZcKqkXhB2x3o1N4Q5y6U7i8O9p0A1s2D3f4G0="}
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
