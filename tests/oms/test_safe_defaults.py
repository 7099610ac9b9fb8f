"""What a deployment gets without setting anything: no debug pages, HTTPS, no SSRF, no demo logins."""

from __future__ import annotations

import base64
import os
import runpy
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from oms.demo import DEMO_USERS

# What the environment of this suite sets for itself (tests/conftest.py) is not a default.
OURS = (
    "DJANGO_DEBUG", "DJANGO_SECURE", "WEBHOOK_ALLOW_PRIVATE_HOSTS", "NODE_ALLOW_PRIVATE_HOSTS", "DB_POOL_MAX_SIZE",
    "DB_PREPARE_THRESHOLD",
    "DATABASE_URL",
)  # fmt: skip


def fresh_settings(monkeypatch: pytest.MonkeyPatch, **env: str) -> dict[str, Any]:
    """The settings module as it evaluates on `env` alone (what a new process would get)."""
    with monkeypatch.context() as patch:
        for name in OURS:
            patch.delenv(name, raising=False)
        for name, value in env.items():
            patch.setenv(name, value)
        values = runpy.run_path(str(Path(django_settings.BASE_DIR) / "oms" / "settings.py"))
    values["DB"] = values["DATABASES"]["default"]
    return values


def test_by_default_debug_is_off_https_is_on_and_private_webhook_hosts_are_refused(monkeypatch):
    values = fresh_settings(monkeypatch)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is values["SESSION_COOKIE_SECURE"] is values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is values["NODE_ALLOW_PRIVATE_HOSTS"] is False


def test_debug_needs_asking_for_and_does_not_open_webhooks_to_private_hosts(monkeypatch):
    values = fresh_settings(monkeypatch, DJANGO_DEBUG="1")
    assert values["DEBUG"] is True
    assert values["WEBHOOK_ALLOW_PRIVATE_HOSTS"] is values["NODE_ALLOW_PRIVATE_HOSTS"] is False
    assert values["SECURE_SSL_REDIRECT"] is True  # HTTPS follows its own switch, not DEBUG


def test_django_secure_off_serves_plain_http_as_the_local_demo_needs(monkeypatch):
    values = fresh_settings(monkeypatch, DJANGO_SECURE="0")
    assert (values["SECURE_SSL_REDIRECT"], values["SESSION_COOKIE_SECURE"], values["SECURE_HSTS_SECONDS"]) == (
        False,
        False,
        0,
    )


def test_postgres_gets_a_bounded_connection_pool_and_no_persistent_connections(monkeypatch):
    url = "postgres://postgres@127.0.0.1:5432/anything"
    pooled = fresh_settings(monkeypatch, DATABASE_URL=url)["DB"]
    assert pooled["CONN_MAX_AGE"] == 0
    assert pooled["OPTIONS"]["pool"]["max_size"] == 4
    assert fresh_settings(monkeypatch, DATABASE_URL=url, DB_POOL_MAX_SIZE="2")["DB"]["OPTIONS"]["pool"]["max_size"] == 2
    assert "pool" not in fresh_settings(monkeypatch, DATABASE_URL=url, DB_POOL_MAX_SIZE="0")["DB"].get("OPTIONS", {})


def test_postgres_prepares_repeated_statements_unless_told_not_to(monkeypatch):
    url = "postgres://postgres@127.0.0.1:5432/anything"
    options = fresh_settings(monkeypatch, DATABASE_URL=url)["DB"]["OPTIONS"]
    assert (options["server_side_binding"], options["prepare_threshold"]) == (True, 2)
    off = fresh_settings(monkeypatch, DATABASE_URL=url, DB_PREPARE_THRESHOLD="0")["DB"]["OPTIONS"]
    assert not {"server_side_binding", "prepare_threshold"} & set(off)


def _check_deploy_security(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in OURS}
    production = {
        "DJANGO_SECRET_KEY": "k" * 50 + "-a-long-random-secret",
        "DJANGO_ALLOWED_HOSTS": "oms.example",
        "CHANNEL_CREDENTIALS_KEY": base64.urlsafe_b64encode(b"c" * 32).decode(),  # a Fernet key
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--tag", "security", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR, env={**clean, **production, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_check_deploy_passes_on_the_defaults_and_names_what_django_secure_0_turns_off():
    assert _check_deploy_security().returncode == 0
    insecure = _check_deploy_security(DJANGO_SECURE="0")
    assert insecure.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in insecure.stderr + insecure.stdout


@pytest.mark.django_db
def test_demo_logins_come_with_the_embedded_default_and_on_a_real_database_only_when_asked_for(settings):
    demo_users = get_user_model().objects.filter(username__in=DEMO_USERS)
    settings.EMBEDDED_DATABASE = False
    call_command("seed_demo", stdout=StringIO())
    assert not demo_users.exists()
    call_command("seed_demo", "--users", stdout=StringIO())
    assert demo_users.count() == len(DEMO_USERS)
    demo_users.delete()
    settings.EMBEDDED_DATABASE = True
    call_command("seed_demo", stdout=StringIO())
    assert demo_users.count() == len(DEMO_USERS)
