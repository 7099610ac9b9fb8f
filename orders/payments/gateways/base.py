"""The gateway adapter interface. Every call carries an idempotency key: a gateway that sees a
key twice answers the first result again instead of moving money twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol


class GatewayError(Exception):
    """The call failed without an answer (timeout, connection error, 5xx). Retryable: the
    outcome is unknown, so the retry must carry the same idempotency key."""

    def __init__(self, message: str, *, code: str = "gateway_error") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class GatewayResult:
    approved: bool
    reference: str = ""
    decline_code: str = ""
    message: str = ""
    expires_at: datetime | None = None  # of an authorization

    @classmethod
    def declined(cls, code: str, message: str, reference: str = "") -> GatewayResult:
        return cls(approved=False, reference=reference, decline_code=code, message=message)


class Gateway(Protocol):
    code: str
    # How long an authorization stays capturable, and whether it can be renewed.
    authorization_ttl: timedelta
    supports_reauthorization: bool

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult: ...

    def capture(
        self, *, token: str, authorization: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def void(
        self, *, token: str, authorization: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult: ...

    def refund(
        self, *, token: str, charge: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult: ...
