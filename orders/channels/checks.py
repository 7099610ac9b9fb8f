"""A deployment check: channel credentials need a key of their own."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_channel_credentials_key(**kwargs: Any) -> list[Error]:
    if settings.CHANNEL_CREDENTIALS_KEY:
        return []
    return [
        Error(
            "CHANNEL_CREDENTIALS_KEY is not set: channel credentials would be encrypted under a key derived "
            "from DJANGO_SECRET_KEY.",
            hint='Export CHANNEL_CREDENTIALS_KEY with the output of python -c "from cryptography.fernet import '
            'Fernet; print(Fernet.generate_key().decode())".',
            id="orders.E101",
        )
    ]
