"""A deployment check: channel credentials need a key of their own."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def check_channel_credentials_key(**kwargs: Any) -> list[Error]:
    keys = [key.strip() for key in settings.CHANNEL_CREDENTIALS_KEY.split(",") if key.strip()]
    try:
        for key in keys:
            Fernet(key.encode())
    except ValueError:
        return [Error("CHANNEL_CREDENTIALS_KEY holds a value that is not a Fernet key.", id="orders.E102")]
    if keys:
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
