"""The customer view: orders, what they spent, CSR notes and the messages sent, in one timeline;
a note on an order also joins the order's timeline."""

from __future__ import annotations

from decimal import Decimal
from uuid import uuid4

import pytest
from django.urls import reverse

from notifications.models import EmailLog
from oms.actors import Actor
from oms.errors import InvalidInput
from orders.models import Note, OrderEvent
from orders.notes.services import note_add
from tests.factories import CustomerFactory, OrderFactory, PaymentFactory

pytestmark = pytest.mark.django_db


def test_the_customer_page_shows_orders_spend_notes_and_messages(csr):
    customer = CustomerFactory(email="jo@example.org")
    first = OrderFactory(customer=customer, merchant=customer.merchant, total=Decimal("40.00"), status="shipped")
    OrderFactory(customer=customer, merchant=customer.merchant, total=Decimal("10.50"), status="validated")
    OrderFactory(customer=customer, merchant=customer.merchant, total=Decimal("99.00"), status="cancelled")
    EmailLog.objects.create(merchant=customer.merchant, order=first, template="shipping_notification", event_id=uuid4(),
                            recipient=customer.email, subject="Your order shipped", status="sent")  # fmt: skip
    PaymentFactory(order=first, amount=Decimal("40.00"), status="partially_refunded", authorized_amount=Decimal(40),
                   captured_amount=Decimal(40), refunded_amount=Decimal(5))  # fmt: skip
    note_add(actor=Actor.system("tests"), text="Prefers deliveries after 5 pm", customer=customer)

    page = csr.get(reverse("admin:orders_customer_change", args=[customer.pk])).content.decode()

    assert "50.50 USD over 2 order(s), 5.00 USD refunded" in page  # the cancelled order is not spent
    assert first.number in page
    assert "Prefers deliveries after 5 pm" in page
    assert "to jo@example.org: sent" in page


def test_a_csr_adds_a_note_to_an_order_and_it_joins_both_timelines(csr):
    order = OrderFactory()
    form = csr.get(reverse("admin:orders_note_add"), {"order": order.pk})
    assert f"Note on order {order.number}" in form.content.decode()

    data = {"order": order.pk, "customer": order.customer_id, "text": "Called: wants gift wrap"}
    response = csr.post(reverse("admin:orders_note_add") + f"?order={order.pk}", data)

    assert response.status_code == 302
    assert response.url == reverse("admin:orders_order_change", args=[order.pk])
    note = Note.objects.get()
    assert (note.customer, note.order, note.author_label) == (order.customer, order, "casey")
    event = OrderEvent.objects.get(order=order, name="note")
    assert (event.reason, event.actor_label) == ("Called: wants gift wrap", "casey")
    customer_page = csr.get(reverse("admin:orders_customer_change", args=[order.customer_id])).content.decode()
    assert f"Note on order {order.number}: Called: wants gift wrap" in customer_page


def test_an_empty_note_is_refused():
    with pytest.raises(InvalidInput):
        note_add(actor=Actor.system("tests"), text="  ", customer=CustomerFactory())
