"""The admin login is rate-limited: repeated failures lock the (username, IP) pair out, even
with the right password afterwards; each lockout is logged and shown to the Admin group."""

from __future__ import annotations

import logging

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from oms.permissions import ADMIN
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/?next=/admin/"


def attempt(client, password):
    return client.post(LOGIN, {"username": "ops", "password": password}, REMOTE_ADDR="203.0.113.9")


@pytest.fixture
def staff():
    user = UserFactory(username="ops", is_staff=True)
    user.set_password("the-right-password-42")
    user.save()
    user.groups.add(Group.objects.get(name=ADMIN))
    return user


def test_forty_wrong_passwords_lock_the_account_out_even_for_the_right_one(client, staff, settings, caplog):
    caplog.set_level(logging.WARNING, logger="axes")
    for _ in range(40):
        assert attempt(client, "guess").status_code in (200, 429)
    response = attempt(client, "the-right-password-42")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert "after repeated login failures" in caplog.text  # the lockout, logged by axes


def test_a_few_typos_do_not_lock_anyone_out(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, "typo").status_code == 200
    assert attempt(client, "the-right-password-42").status_code == 302
    assert client.session["_auth_user_id"] == str(staff.pk)


def test_the_admin_group_sees_the_failed_logins_and_lockouts(client, staff, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, "guess")
    admin = UserFactory(username="boss", is_staff=True)
    admin.groups.add(Group.objects.get(name=ADMIN))
    client.force_login(admin)
    page = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert page.status_code == 200
    assert "203.0.113.9" in page.content.decode()
    assert client.get(reverse("admin:axes_accessfailurelog_changelist")).status_code == 200
