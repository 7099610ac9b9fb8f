"""Channel credentials, encrypted at rest with Fernet under a key from the environment.

CHANNEL_CREDENTIALS_KEY holds one or more comma-separated Fernet keys (the first encrypts;
all decrypt, so a key can be rotated). Without it, development derives a key from SECRET_KEY;
`manage.py check --deploy` refuses that.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _fernet(keys: str, secret: str) -> MultiFernet:
    if keys:
        return MultiFernet([Fernet(key.strip().encode()) for key in keys.split(",") if key.strip()])
    derived = base64.urlsafe_b64encode(hashlib.sha256(f"channel-credentials:{secret}".encode()).digest())
    return MultiFernet([Fernet(derived)])


def _box() -> MultiFernet:
    return _fernet(settings.CHANNEL_CREDENTIALS_KEY, settings.SECRET_KEY)


def credentials_encrypt(values: dict[str, str]) -> str:
    return _box().encrypt(json.dumps(values, sort_keys=True).encode()).decode()


def credentials_decrypt(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return dict(json.loads(_box().decrypt(token.encode())))
    except InvalidToken:
        # Never echo the token: say only that the key does not open it.
        raise ValueError("channel credentials cannot be decrypted with CHANNEL_CREDENTIALS_KEY") from None
