"""Generic references (type + id): how a lower app points at a higher app's object."""

from __future__ import annotations

from typing import NamedTuple

from django.db import models


class Ref(NamedTuple):
    type: str
    id: str

    @classmethod
    def to(cls, obj: models.Model) -> Ref:
        return cls(obj._meta.label_lower, str(obj.pk))

    def __str__(self) -> str:
        return f"{self.type}:{self.id}"
