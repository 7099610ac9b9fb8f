"""A built-in gateway that behaves like a real processor, driven by test tokens.

| token | behaviour |
| --- | --- |
| `tok_visa_ok`, `tok_visa_ok_<anything>` | approved |
| `tok_decline` | declined: `card_declined` |
| `tok_insufficient_funds` | declined: `insufficient_funds` |
| `tok_expired_auth` | the authorization has expired: capture declined `authorization_expired`; |
| | re-authorization declined `expired_card` |
| `tok_timeout_once` | the first call (per token) times out before processing; the retry succeeds |
| `tok_timeout` | every call times out |
| anything else | declined: `invalid_token` |

It keeps its own ledger (SandboxLedgerEntry): one row per request it processed, unique by
idempotency key. A repeated key replays the first answer; a repeated key with another amount or
operation is refused, as Stripe does. Captures may be partial and several per authorization;
refunds are limited to what was captured on the token.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from orders.payments.gateways.base import GatewayError, GatewayResult
from orders.payments.models import SandboxLedgerEntry

OK_TOKEN = "tok_visa_ok"
_DECLINES = {
    "tok_decline": ("card_declined", "Your card was declined."),
    "tok_insufficient_funds": ("insufficient_funds", "Your card has insufficient funds."),
}
Kind = SandboxLedgerEntry.Kind


class SandboxGateway:
    code = "sandbox"
    authorization_ttl = timedelta(days=7)
    supports_reauthorization = True

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        return self._process(Kind.AUTHORIZE, token, amount, currency, idempotency_key)

    def capture(
        self, *, token: str, authorization: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return self._process(Kind.CAPTURE, token, amount, currency, idempotency_key)

    def void(
        self, *, token: str, authorization: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return self._process(Kind.VOID, token, amount, currency, idempotency_key)

    def refund(self, *, token: str, charge: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        return self._process(Kind.REFUND, token, amount, currency, idempotency_key)

    # The processor's side.

    def _process(self, kind: str, token: str, amount: Decimal, currency: str, key: str) -> GatewayResult:
        replay = SandboxLedgerEntry.objects.filter(idempotency_key=key).first()
        if replay is not None:
            return self._replay(replay, kind, amount)
        self._maybe_time_out(token, key)
        approved, code, message = self._decide(kind, token, amount)
        entry = SandboxLedgerEntry(
            idempotency_key=key,
            kind=kind,
            token=token,
            amount=amount,
            currency=currency,
            approved=approved,
            reference=f"sbx_{kind[:4]}_{secrets.token_hex(8)}",
            decline_code=code,
            expires_at=timezone.now() + self.authorization_ttl if approved and kind == Kind.AUTHORIZE else None,
        )
        try:
            # Its own transaction: the processor's books commit whatever the caller does next.
            with transaction.atomic():
                entry.save()
        except IntegrityError:
            # The same key raced us in: whichever request got there first is the answer.
            return self._replay(SandboxLedgerEntry.objects.get(idempotency_key=key), kind, amount)
        return self._result(entry, message)

    def _replay(self, entry: SandboxLedgerEntry, kind: str, amount: Decimal) -> GatewayResult:
        if entry.kind != kind or entry.amount != amount:
            return GatewayResult.declined(
                "idempotency_key_reused", "This idempotency key was used for another request."
            )
        return self._result(entry, "" if entry.approved else "Declined (replayed).")

    @staticmethod
    def _result(entry: SandboxLedgerEntry, message: str) -> GatewayResult:
        if entry.approved:
            return GatewayResult(approved=True, reference=entry.reference, expires_at=entry.expires_at)
        return GatewayResult.declined(entry.decline_code, message, entry.reference)

    @staticmethod
    def _maybe_time_out(token: str, key: str) -> None:
        if token == "tok_timeout":
            raise GatewayError("The sandbox did not answer in time.", code="timeout")
        if token == "tok_timeout_once":
            marker = SandboxLedgerEntry(
                idempotency_key=f"timeout:{token}",
                kind=Kind.TIMEOUT,
                token=token,
                amount=Decimal(0),
                currency="",
                approved=False,
                reference="",
            )
            try:
                with transaction.atomic():
                    marker.save()
            except IntegrityError:
                return  # already timed out once for this token: answer this time
            raise GatewayError("The sandbox did not answer in time.", code="timeout")

    @staticmethod
    def _decide(kind: str, token: str, amount: Decimal) -> tuple[bool, str, str]:
        if token in _DECLINES:
            if kind in (Kind.VOID, Kind.REFUND):
                return True, "", ""
            code, message = _DECLINES[token]
            return False, code, message
        if token == "tok_expired_auth":
            if kind == Kind.CAPTURE:
                return False, "authorization_expired", "The authorization has expired."
            if kind == Kind.AUTHORIZE:
                return False, "expired_card", "The card has expired."
            return True, "", ""
        if not (token in (OK_TOKEN, "tok_timeout_once") or token.startswith(f"{OK_TOKEN}_")):
            return False, "invalid_token", "No such payment token."
        if kind == Kind.REFUND:
            booked = SandboxLedgerEntry.objects.filter(token=token, approved=True)
            captured = booked.filter(kind=Kind.CAPTURE).aggregate(s=Sum("amount"))["s"] or Decimal(0)
            refunded = booked.filter(kind=Kind.REFUND).aggregate(s=Sum("amount"))["s"] or Decimal(0)
            # A charge the channel took itself never passed through our capture: allow it.
            if captured and amount > captured - refunded:
                return False, "amount_too_large", "The refund exceeds what is left of the charge."
        return True, "", ""


class GiftCardGateway(SandboxGateway):
    """Stored-value cards (the usual second tender of a split payment), in the sandbox's books:
    every token is a card with enough balance unless it is one of the sandbox's decline or
    timeout tokens above."""

    code = "giftcard"
    authorization_ttl = timedelta(days=365)

    @staticmethod
    def _decide(kind: str, token: str, amount: Decimal) -> tuple[bool, str, str]:
        if token in _DECLINES or token == "tok_expired_auth":
            return SandboxGateway._decide(kind, token, amount)
        return True, "", ""


class ChannelGateway(SandboxGateway):
    """Money a sales channel took at its checkout (Shopify Payments, a WooCommerce plugin): the
    default gateway of channel orders. The channel holds the charge, so every call is approved
    and booked here; a refund is carried out on the channel by its refund push
    (orders/channels), which refuses one the channel's own transactions cannot cover."""

    code = "channel"
    supports_reauthorization = False

    @staticmethod
    def _decide(kind: str, token: str, amount: Decimal) -> tuple[bool, str, str]:
        return True, "", ""
