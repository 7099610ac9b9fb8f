"""Who did something: an admin user, a merchant's API key, or a system job."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from oms.models import ApiKey


@dataclass(frozen=True)
class Actor:
    kind: str  # "user" | "api_key" | "system"
    label: str
    user_id: int | None = None

    @classmethod
    def user(cls, user: AbstractBaseUser) -> Actor:
        return cls("user", user.get_username(), user.pk)

    @classmethod
    def api_key(cls, key: ApiKey) -> Actor:
        return cls("api_key", f"api key {key.prefix}")

    @classmethod
    def system(cls, job: str) -> Actor:
        return cls("system", job)

    def __str__(self) -> str:
        return self.label
