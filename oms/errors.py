"""Errors the services raise; the API maps each to its status and the one JSON error body."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str | None
    code: str
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "code": self.code, "message": self.message}


class DomainError(Exception):
    """A well-formed request the domain refuses (HTTP 422)."""

    status = 422
    code = "refused"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    @property
    def errors(self) -> list[FieldError]:
        return [FieldError(self.field, self.code, self.message)]


class Conflict(DomainError):
    """The object's state forbids the action (HTTP 409)."""

    status = 409
    code = "conflict"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class InvalidInput(DomainError):
    """One or more fields are invalid (HTTP 400)."""

    status = 400
    code = "invalid"

    def __init__(self, errors: list[FieldError]):
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.field_errors = errors

    @property
    def errors(self) -> list[FieldError]:
        return self.field_errors

    @classmethod
    def from_form_errors(cls, form_errors: dict[str, list[str]]) -> InvalidInput:
        return cls([FieldError(name, "invalid", str(msg)) for name, msgs in form_errors.items() for msg in msgs])
