"""Every message renders: subject, plain text and HTML with inlined CSS, from sample data and
from events (the appeasement and return messages are render-tested until the returns work
emits their events)."""

from __future__ import annotations

import re

import pytest
from django.db import transaction

from notifications.messages import MESSAGES, shipment_context, tracking_url
from notifications.models import EmailLog
from notifications.rendering import branding, render
from notifications.samples import sample_context
from oms.models import Merchant
from oms.outbox import emit
from oms.refs import Ref
from tests.factories import NotificationSettingsFactory, OrderFactory, OrderLineFactory
from tests.notifications.conftest import parts

TAG = re.compile(r"<[a-z/][^>]*>")


@pytest.mark.parametrize("key", list(MESSAGES))
def test_every_message_renders_both_parts_from_sample_data(key):
    message = MESSAGES[key]
    brand = branding(Merchant(code="demo", name="Demo Shop"), None)
    rendered = render(message, {**sample_context(message), "brand": brand})
    assert "DEMO-000123" in rendered.subject or "RMA-000045" in rendered.subject
    assert "{" not in rendered.subject
    assert "DEMO-000123" in rendered.text
    assert "Demo Shop" in rendered.text
    assert not TAG.search(rendered.text), "the text part is plain text"
    assert "{{" not in rendered.text
    assert "{%" not in rendered.text
    assert rendered.html.startswith("<!DOCTYPE html>")
    assert '<td class="content" style="' in rendered.html, "CSS is inlined"
    assert "DEMO-000123" in rendered.html


def test_the_shipping_message_shows_the_items_carrier_and_tracking_link():
    message = MESSAGES["shipping_notification"]
    brand = branding(Merchant(code="demo", name="Demo Shop"), None)
    rendered = render(message, {**sample_context(message), "brand": brand})
    link = "https://www.ups.com/track?tracknum=1Z999AA10123456784"
    assert f'href="{link}"' in rendered.html
    assert f"Track your package: {link}" in rendered.text
    assert "2 × Red T-shirt M (TSHIRT-RED-M)" in rendered.text
    assert "Blue mug" not in rendered.text, "only the items of that shipment"


def test_tracking_links_come_from_the_merchant_template_or_the_carriers_page():
    assert tracking_url("ups", "1Z 9") == "https://www.ups.com/track?tracknum=1Z%209"
    assert tracking_url("rate-card", "RC123") == ""
    assert tracking_url("rate-card", "RC123", "https://t.example/{carrier}/{tracking_number}") == (
        "https://t.example/rate-card/RC123"
    )
    order = sample_context(MESSAGES["delivered"])["order"]
    shipment = shipment_context({"carrier": "ups", "tracking_url": "javascript:alert(1)"}, order)
    assert shipment["tracking_url"] == "", "only http(s) links reach an e-mail"


def emit_committed(event_type, subject, order, payload):
    with transaction.atomic():
        return emit(event_type, subject=subject, merchant_id=order.merchant_id, payload=payload)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("event_type", "template", "payload", "expected"),
    [
        ("return.authorized", "return_authorized",
         {"number": "RMA-7", "instructions": "Drop it at any UPS point.", "label_url": "https://l.example/7.pdf",
          "lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}]},
         ["RMA-7", "Drop it at any UPS point.", "https://l.example/7.pdf", "1 × Red T-shirt M"]),
        ("return.received", "return_received", {"number": "RMA-7", "lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}]},
         ["RMA-7", "We are checking the items"]),
        ("return.appeasement_issued", "appeasement", {"amount": "15.00", "currency": "USD", "reason": "Late"},
         ["$15.00", "Late", "gesture of goodwill"]),
    ],
)  # fmt: skip
def test_the_returns_messages_are_sent_on_their_events(smtp_server, event_type, template, payload, expected):
    order = OrderFactory(number="RET-1")
    OrderLineFactory(order=order, product__sku="TSHIRT-RED-M", product__name="Red T-shirt M")
    emit_committed(event_type, Ref("returns.rma", "7"), order, {**payload, "order": order.number})
    log = EmailLog.objects.get(template=template)
    assert log.status == "sent"
    text = parts(smtp_server.messages[0])["text/plain"]
    for fragment in expected:
        assert fragment in text


@pytest.mark.django_db(transaction=True)
def test_a_shipment_event_e_mails_the_items_carrier_and_tracking_link(smtp_server):
    """The contract the fulfilment work's shipment events meet (payload of shipment_payload)."""
    order = OrderFactory(number="SHIP-1")
    OrderLineFactory(order=order, product__sku="TSHIRT-RED-M", product__name="Red T-shirt M")
    NotificationSettingsFactory(merchant=order.merchant, tracking_url_template="https://t.example/{tracking_number}")
    payload = {"id": 5, "order": order.number, "carrier": "rate-card", "tracking_number": "RC0001",
               "lines": [{"sku": "TSHIRT-RED-M", "quantity": 1}]}  # fmt: skip
    emit_committed("shipment.shipped", Ref("fulfillment.shipment", "5"), order, payload)
    message = smtp_server.one("is on its way")
    text, html = parts(message)["text/plain"], parts(message)["text/html"]
    assert "Track your package: https://t.example/RC0001" in text
    assert 'href="https://t.example/RC0001"' in html
    assert "1 × Red T-shirt M (TSHIRT-RED-M)" in text
