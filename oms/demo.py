"""Demo tenancy: the `demo` merchant, its channels, a known API key and one user per group.

The demo key is fixed so that `make run` can print it every time; it is stored hashed like
any other key and exists only where seed_demo was run (development). The demo users' passwords
are published (README, the banner): they are created only on the embedded default (SQLite) or
when asked for (`seed_demo --users`), never by default on a real database.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from oms.keys import key_digest
from oms.models import ApiKey, Channel, Merchant
from oms.permissions import ADMIN, CSR, CSR_LEAD, FINANCE, OPERATIONS, WAREHOUSE, ensure_groups

DEMO_API_KEY = "oms_demo_local-development-key-not-for-production"
# username -> (password, group)
DEMO_USERS = {
    "admin": ("admin-demo", ADMIN),
    "csr": ("csr-demo", CSR),
    "lead": ("lead-demo", CSR_LEAD),
    "warehouse": ("warehouse-demo", WAREHOUSE),
    "finance": ("finance-demo", FINANCE),
    "ops": ("ops-demo", OPERATIONS),
}


def seed_tenancy(*, users: bool = False) -> Merchant:
    merchant, _ = Merchant.objects.get_or_create(
        code="demo", defaults={"name": "Demo Outfitters", "order_prefix": "DEMO"}
    )
    for code, name, kind in (
        ("web", "Web store", Channel.Kind.WEB),
        ("marketplace", "Marketplace", Channel.Kind.MARKETPLACE),
        ("api", "API", Channel.Kind.API),
        ("shop", "Shopify store", Channel.Kind.WEB),  # its connection: orders/channels/demo.py
    ):
        Channel.objects.get_or_create(merchant=merchant, code=code, defaults={"name": name, "kind": kind})
    ApiKey.objects.get_or_create(
        prefix="demo",
        defaults={"merchant": merchant, "name": "demo", "digest": key_digest(DEMO_API_KEY)},
    )
    ensure_groups()
    if users:
        seed_users()
    return merchant


def seed_users() -> None:
    user_model = get_user_model()
    for username, (password, group) in DEMO_USERS.items():
        user, created = user_model.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created:
            user.set_password(password)
            user.is_superuser = group == ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=group))


def seed_schedule() -> None:
    """The periodic jobs of CELERY_BEAT_SCHEDULE as beat's database scheduler stores them (beat
    writes the same rows when it starts), so the console shows them before beat first runs."""
    from django.conf import settings
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        seconds = int(float(entry["schedule"]))  # type: ignore[arg-type]
        every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
        PeriodicTask.objects.get_or_create(name=name, defaults={"task": entry["task"], "interval": every})


def seed_exception_policy() -> None:
    """One override of the defaults in oms.exception_policy, so its screen has a row: carrier
    misses worked faster than the default SLA, and raised a step for orders from 500."""
    from decimal import Decimal

    from oms.models import ExceptionPolicy, OpsException

    ExceptionPolicy.objects.get_or_create(
        type="carrier_miss",
        defaults={"title": "Carrier miss", "severity": OpsException.Severity.HIGH, "high_value": Decimal(500),
                  "first_touch_minutes": 60, "resolve_minutes": 12 * 60},
    )  # fmt: skip


def seed_login_activity() -> None:
    """Through django-axes as the admin's login form would: one demo login that went through
    (AccessLog) and, after it, one mistyped password (AccessAttempt, AccessFailureLog), well
    under the lock-out limit. Once only: a second failure would count towards a lock-out (a
    later successful login clears the attempt, and the next run records one again)."""
    from axes.models import AccessAttempt, AccessLog
    from django.contrib.auth import authenticate, login
    from django.contrib.sessions.backends.db import SessionStore
    from django.test import RequestFactory

    username = "csr"
    password, _ = DEMO_USERS[username]
    request = RequestFactory().post("/admin/login/", HTTP_USER_AGENT="seed_demo")
    request.session = SessionStore()
    # Only where the demo logins exist (embedded database or --users): elsewhere it would fail.
    exists = get_user_model().objects.filter(username=username).exists()
    if exists and not AccessLog.objects.filter(username=username).exists():
        user = authenticate(request, username=username, password=password)
        assert user is not None, "the demo login's published password"
        login(request, user)
    if not AccessAttempt.objects.filter(username=username).exists():
        authenticate(request, username=username, password=password + "-typo")
