"""The Stripe adapter against a local HTTP server that answers the calls it makes like Stripe
does (form-encoded requests, JSON answers, Idempotency-Key replays)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest

from orders.models import Payment
from tests.factories import MerchantPaymentSettingsFactory
from tests.payments.helpers import payment, place, reached_ready

pytestmark = pytest.mark.django_db


class FakeStripe(BaseHTTPRequestHandler):
    requests: list[dict[str, object]]
    replies: dict[str, tuple[int, dict[str, object]]]
    failures: dict[str, int]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        key = self.headers.get("Idempotency-Key", "")
        self.requests.append({"path": self.path, "form": form, "key": key, "auth": self.headers.get("Authorization")})
        if key in self.replies:  # Stripe replays the first answer to a repeated key
            return self._answer(*self.replies[key])
        status, body = self._handle(self.path, form)
        if status < 500:
            self.replies[key] = (status, body)
        return self._answer(status, body)

    def _handle(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        parts = path.strip("/").split("/")  # v1/payment_intents/<id>/capture
        if parts[1] == "refunds":
            return 200, {"id": "re_1", "object": "refund", "status": "succeeded", "amount": int(form["amount"])}
        intent, action = parts[2], parts[3]
        if self.failures.get(intent, 0) > 0:
            self.failures[intent] -= 1
            return 500, {"error": {"type": "api_error", "message": "Something went wrong"}}
        if intent == "pi_decline":
            return 402, {"error": {"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
                                   "message": "Your card has insufficient funds."}}  # fmt: skip
        status = "succeeded" if action == "capture" else "canceled"
        return 200, {"id": intent, "object": "payment_intent", "status": status}

    def _answer(self, status: int, body: dict[str, object]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_stripe(settings):
    handler = type("Handler", (FakeStripe,), {"requests": [], "replies": {}, "failures": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.STRIPE_API_KEY = "sk_test_local"
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PAYMENT_GATEWAYS = {**settings.PAYMENT_GATEWAYS, "stripe": "orders.payments.gateways.stripe.StripeGateway"}
    yield handler
    server.shutdown()
    server.server_close()


def test_it_captures_the_payment_intent_with_our_idempotency_key(api, django_capture_on_commit_callbacks, fake_stripe):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("pi_ok", gateway="stripe"))
    assert reached_ready(order)
    [call] = fake_stripe.requests
    txn = Payment.objects.get(order=order).transactions.get(kind="capture")
    assert call == {
        "path": "/v1/payment_intents/pi_ok/capture",
        "form": {"amount_to_capture": "4838"},
        "key": txn.idempotency_key,
        "auth": "Bearer sk_test_local",
    }
    assert txn.gateway_reference == "pi_ok"


def test_a_card_error_becomes_a_payment_hold_with_stripes_decline_code(
    api, django_capture_on_commit_callbacks, fake_stripe
):
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("pi_decline", gateway="stripe"))
    assert order.status == "on_hold"
    assert "insufficient_funds" in order.holds.get().reason


def test_a_server_error_is_retried_with_the_same_key(api, django_capture_on_commit_callbacks, fake_stripe):
    from datetime import timedelta

    from django.utils import timezone

    from orders.payments.services import payments_retry_due

    fake_stripe.failures["pi_flaky"] = 1
    order, _ = place(api, django_capture_on_commit_callbacks, payment=payment("pi_flaky", gateway="stripe"))
    assert order.status == "validated"
    with django_capture_on_commit_callbacks(execute=True):
        payments_retry_due(now=timezone.now() + timedelta(hours=2))
    order.refresh_from_db()
    assert reached_ready(order)
    first, second = fake_stripe.requests
    assert first["key"] == second["key"]


def test_cancel_voids_or_refunds_through_stripe(api, django_capture_on_commit_callbacks, fake_stripe):
    captured, _ = place(api, django_capture_on_commit_callbacks, payment=payment("pi_ok", gateway="stripe"))
    with django_capture_on_commit_callbacks(execute=True):
        api.client.post(f"/api/v1/orders/{captured.number}/cancel/", {"reason": "Changed mind"}, format="json")
    assert fake_stripe.requests[-1]["path"] == "/v1/refunds"
    assert fake_stripe.requests[-1]["form"] == {"payment_intent": "pi_ok", "amount": "4838"}
    assert Payment.objects.get(order=captured).status == "refunded"

    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    held, _ = place(api, django_capture_on_commit_callbacks, payment=payment("pi_uncaptured", gateway="stripe"))
    with django_capture_on_commit_callbacks(execute=True):
        api.client.post(f"/api/v1/orders/{held.number}/cancel/", {"reason": "Changed mind"}, format="json")
    assert fake_stripe.requests[-1]["path"] == "/v1/payment_intents/pi_uncaptured/cancel"
    assert Payment.objects.get(order=held).status == "voided"
