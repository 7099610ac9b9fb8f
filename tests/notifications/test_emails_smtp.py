"""Customer e-mails end to end: a real order change, the outbox, the Celery job, real SMTP."""

from __future__ import annotations

import pytest

from notifications.models import EmailLog
from tests.notifications.conftest import parts
from tests.payments.helpers import body

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
