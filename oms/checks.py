"""Deployment checks that Django's own do not cover."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_secret_key_is_not_the_development_one(**kwargs: Any) -> list[Error]:
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        return [
            Error(
                "DJANGO_SECRET_KEY is not set: the development secret must never run in production.",
                hint="Export DJANGO_SECRET_KEY with a long random value.",
                id="oms.E001",
            )
        ]
    return []
