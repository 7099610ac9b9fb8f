"""Customer e-mails end to end: a real order change, the outbox, the Celery job, real SMTP."""

from __future__ import annotations

import pytest

from notifications.models import EmailLog
from tests.factories import NotificationSettingsFactory
from tests.notifications.conftest import parts
from tests.payments.helpers import body, payment

pytestmark = pytest.mark.django_db


def capture(api, run_commits, **changes):
    response = run_commits(api.client.post, "/api/v1/orders/", body(**changes), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_it_sends_the_order_confirmation_over_smtp_with_both_parts(api, run_commits, smtp_server):
    order = capture(api, run_commits)
    message = smtp_server.one("Thank you for your order")
    assert message["Subject"] == f"Thank you for your order {order['number']}"
    assert message["To"] == "ana@example.com"
    assert api.merchant.name in message["From"]
    text, html = parts(message)["text/plain"], parts(message)["text/html"]
    for expected in (order["number"], "Red T-shirt M", "$48.38"):
        assert expected in text
    assert "<html" not in text
    assert order["number"] in html
    assert '<h1 style="' in html, "the HTML part has its CSS inlined"
    log = EmailLog.objects.get(template="order_confirmation")
    assert (log.status, log.attempts, log.order.number) == ("sent", 1, order["number"])


def test_it_sends_partial_then_full_cancellation_e_mails(api, run_commits, smtp_server):
    order = capture(api, run_commits, lines=[
        {"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.99", "discount": "0.00", "tax": "3.40"},
        {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "19.99", "discount": "0.00", "tax": "0.00"},
    ], total="68.37", payment=payment(amount="68.37"))  # fmt: skip
    number, blue = order["number"], order["lines"][1]["id"]
    cancel = f"/api/v1/orders/{number}/cancel/"
    response = run_commits(
        api.client.post, cancel, {"reason": "Out of blue", "lines": [{"line": blue, "quantity": 1}]}, format="json"
    )
    assert response.status_code == 200, response.json()
    partial = smtp_server.one("Part of your order")
    text, html = parts(partial)["text/plain"], parts(partial)["text/html"]
    assert "1 × Blue T-shirt M (TSHIRT-BLUE-M)" in text
    assert "Out of blue" in text
    assert "Blue T-shirt M" in html
    assert "Red T-shirt M" not in text, "only the cancelled items are listed"

    response = run_commits(api.client.post, cancel, {"reason": "Customer changed their mind"}, format="json")
    assert response.status_code == 200, response.json()
    full = smtp_server.one(f"Your order {number} was cancelled")
    assert "Customer changed their mind" in parts(full)["text/plain"]
    # The captured payment is refunded as each part is cancelled: the customer hears of both.
    assert smtp_server.subjects() == [
        f"Thank you for your order {number}",
        f"Part of your order {number} was cancelled",
        f"We refunded $19.99 on order {number}",
        f"Your order {number} was cancelled",
        f"We refunded $48.38 on order {number}",
    ]


def test_it_sends_the_refund_e_mail_when_a_refund_is_issued(api, run_commits, smtp_server):
    order = capture(api, run_commits)
    assert api.client.get(f"/api/v1/orders/{order['number']}/").json()["payments"][0]["status"] == "captured"
    response = run_commits(
        api.client.post,
        f"/api/v1/orders/{order['number']}/refunds/",
        {"amount": "10.00", "reason": "Damaged box"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    refund = smtp_server.one("We refunded")
    assert refund["Subject"] == f"We refunded $10.00 on order {order['number']}"
    assert "Damaged box" in parts(refund)["text/plain"]
    assert "$10.00" in parts(refund)["text/html"]


def test_a_merchant_can_switch_a_message_off(api, run_commits, smtp_server):
    NotificationSettingsFactory(merchant=api.merchant, disabled_messages=["order_confirmation"])
    capture(api, run_commits)
    assert smtp_server.messages == []
    assert not EmailLog.objects.filter(template="order_confirmation").exists(), "switched off: no row"


def test_it_brands_the_message_per_merchant(api, run_commits, smtp_server):
    NotificationSettingsFactory(
        merchant=api.merchant,
        sender_name="Acme Outfitters",
        sender_email="orders@acme.example",
        reply_to="care@acme.example",
        logo_url="https://cdn.acme.example/logo.png",
        primary_colour="#0b6e4f",
        footer_text="Acme Outfitters, 1 Main St, Springfield",
        order_status_url="https://acme.example/orders/{number}",
    )
    order = capture(api, run_commits)
    message = smtp_server.one("Thank you")
    assert message["From"] == "Acme Outfitters <orders@acme.example>"
    assert message["Reply-To"] == "care@acme.example"
    assert smtp_server.envelopes[0].mail_from == "orders@acme.example"
    html, text = parts(message)["text/html"], parts(message)["text/plain"]
    assert 'src="https://cdn.acme.example/logo.png"' in html
    assert "background: #0b6e4f" in html
    assert "Acme Outfitters, 1 Main St, Springfield" in text
    assert f"https://acme.example/orders/{order['number']}" in text
