"""The customer e-mails of a return, sent over real SMTP on their events."""

from __future__ import annotations

import re
from typing import Any

import pytest

from returns.services.requests import label_for_token
from tests.notifications.conftest import parts
from tests.returns.helpers import delivered_order, request, setup_returns, units

pytestmark = pytest.mark.django_db


def test_it_e_mails_the_label_link_then_the_receipt_then_the_refund(
    api: Any, run_commits: Any, smtp_server: Any
) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")], shipping="0.00")
    body = run_commits(request, api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}]).json()
    authorized = smtp_server.one("is authorized")
    assert authorized["Subject"] == f"Your return {body['number']} for order {order.number} is authorized"
    text = parts(authorized)["text/plain"]
    # The link is signed with a timestamp, so the e-mail's may differ from the API's by a second:
    # what matters is that it opens this return's label.
    sent = re.search(r"(\S*/returns/labels/)([^/\s]+)/", text)
    assert sent
    assert body["label_url"].startswith(sent.group(1))
    assert label_for_token(sent.group(2)).pk == body["id"]
    assert "Red T-shirt M" in text

    url = f"/api/v1/returns/{body['id']}/"
    run_commits(api.client.post, url + "receive/", {"scans": ["TSHIRT-RED-M"]}, format="json")
    assert smtp_server.one("We received your return")["Subject"] == f"We received your return {body['number']}"
    grades = {"grades": [{"unit": pk, "grade": "resellable"} for pk in units(body)]}
    run_commits(api.client.post, url + "inspect/", grades, format="json")
    refund = smtp_server.one("We refunded")
    assert refund["Subject"] == f"We refunded $20.00 on order {order.number}"
    assert f"Return {body['number']}" in parts(refund)["text/plain"]


def test_the_store_return_e_mail_carries_the_store_instructions(api: Any, run_commits: Any, smtp_server: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    lines = [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}]
    run_commits(request, api, order, lines, method="in_store", node=api.store.code)
    text = parts(smtp_server.one("is authorized"))["text/plain"]
    assert "service desk" in text
    assert api.store.name in text
    assert "Print your return label" not in text
