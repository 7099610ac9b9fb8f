"""Stripe PaymentIntents as a gateway (the `stripe` package).

Tokens: for an `authorize` payment, the id of a PaymentIntent the channel confirmed with
`capture_method=manual` (status `requires_capture`); for a `capture` payment, the id of the
PaymentIntent that was charged. Our idempotency key is sent as Stripe's Idempotency-Key; the
client's own retries are off (ours keep the key and the schedule in the database).

Settings: STRIPE_API_KEY, STRIPE_API_BASE (default https://api.stripe.com; tests point it at a
local server), STRIPE_TIMEOUT_SECONDS.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import stripe
from django.conf import settings

from orders.payments.gateways.base import GatewayError, GatewayResult
from orders.validation import currency_precision


def minor_units(amount: Decimal, currency: str) -> int:
    return int((amount * 10 ** currency_precision(currency)).to_integral_value())


class StripeGateway:
    code = "stripe"
    # Card authorizations on Stripe last 7 days; extending one needs a new PaymentIntent with the
    # customer's saved payment method, which this adapter does not hold: the OMS holds the order.
    authorization_ttl = timedelta(days=7)
    supports_reauthorization = False

    def __init__(self) -> None:
        self.client = stripe.StripeClient(
            api_key=getattr(settings, "STRIPE_API_KEY", ""),
            base_addresses={"api": getattr(settings, "STRIPE_API_BASE", "https://api.stripe.com")},
            max_network_retries=0,
            http_client=stripe.RequestsClient(timeout=getattr(settings, "STRIPE_TIMEOUT_SECONDS", 20)),
        )

    def authorize(self, *, token: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        params = {
            "amount": minor_units(amount, currency),
            "currency": currency.lower(),
            "payment_method": token,
            "capture_method": "manual",
            "confirm": True,
            "off_session": True,
        }
        return self._call(self.client.v1.payment_intents.create, idempotency_key, params=params)

    def capture(
        self, *, token: str, authorization: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        params = {"amount_to_capture": minor_units(amount, currency)}
        return self._call(self.client.v1.payment_intents.capture, idempotency_key, authorization, params=params)

    def void(
        self, *, token: str, authorization: str, amount: Decimal, currency: str, idempotency_key: str
    ) -> GatewayResult:
        return self._call(self.client.v1.payment_intents.cancel, idempotency_key, authorization, params={})

    def refund(self, *, token: str, charge: str, amount: Decimal, currency: str, idempotency_key: str) -> GatewayResult:
        # The refund goes against the PaymentIntent the channel charged (or we captured).
        params = {"payment_intent": token, "amount": minor_units(amount, currency)}
        return self._call(self.client.v1.refunds.create, idempotency_key, params=params)

    @staticmethod
    def _call(method: Any, key: str, *args: Any, params: dict[str, Any]) -> GatewayResult:
        try:
            obj = method(*args, params=params, options={"idempotency_key": key})
        except stripe.CardError as exc:
            code = (exc.error.decline_code if exc.error else None) or exc.code or "card_declined"
            return GatewayResult.declined(code, exc.user_message or "Declined by Stripe.")
        except (stripe.APIConnectionError, stripe.RateLimitError) as exc:
            raise GatewayError(f"Stripe: {type(exc).__name__}", code="timeout") from exc
        except stripe.StripeError as exc:
            if exc.http_status is None or exc.http_status >= 500 or exc.http_status == 409:
                raise GatewayError(f"Stripe answered {exc.http_status}", code="gateway_error") from exc
            return GatewayResult.declined(exc.code or "invalid_request", exc.user_message or str(exc)[:200])
        data = obj.to_dict()
        status = data.get("status")
        if status in ("requires_payment_method", "canceled") and method.__name__ != "cancel":
            return GatewayResult.declined(status, f"PaymentIntent is {status}.", data.get("id", ""))
        return GatewayResult(approved=True, reference=data.get("id", ""))
