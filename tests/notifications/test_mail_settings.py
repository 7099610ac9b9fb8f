"""E-mail configuration from the environment; without EMAIL_HOST, messages become files."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from oms.management.commands.run_stack import Command
from tests.payments.helpers import body

READ = "from django.conf import settings as s; print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"


def settings_with(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("EMAIL_")}
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {READ}"],
        env={**clean, "DJANGO_SETTINGS_MODULE": "oms.settings", **env},
        cwd=django_settings.BASE_DIR, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return result.stdout.strip()


def test_it_uses_smtp_from_the_environment_and_files_without_a_host():
    assert settings_with() == "django.core.mail.backends.filebased.EmailBackend  25 False"
    smtp = settings_with(EMAIL_HOST="smtp.example.com", EMAIL_PORT="587", EMAIL_USE_TLS="true")
    assert smtp == "django.core.mail.backends.smtp.EmailBackend smtp.example.com 587 True"


@pytest.mark.django_db
def test_without_smtp_messages_are_written_under_the_folder_make_run_names(api, run_commits, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    out = io.StringIO()
    command = Command(stdout=out)
    command._banner("8000")
    assert f"written as files to {tmp_path / 'mail'}" in out.getvalue()
    response = run_commits(api.client.post, "/api/v1/orders/", body(), format="json")
    [written] = list((tmp_path / "mail").iterdir())
    assert f"Subject: Thank you for your order {response.json()['number']}" in written.read_text()
