"""Adding a CSR note: to a customer, or to an order (which also writes the order's timeline)."""

from __future__ import annotations

from django.db import transaction

from oms.actors import Actor
from oms.errors import FieldError, InvalidInput
from orders.models import Customer, Order
from orders.notes.models import Note
from orders.services.timeline import record


@transaction.atomic
def note_add(*, actor: Actor, text: str, customer: Customer | None = None, order: Order | None = None) -> Note:
    """Keep a note about a customer, or one of their orders; an order's note joins its timeline."""
    text = text.strip()
    if not text:
        raise InvalidInput([FieldError("text", "required", "Write the note.")])
    if order is not None:
        customer = order.customer
    if customer is None:
        raise InvalidInput([FieldError("customer", "required", "A note is about a customer or an order.")])
    note = Note.objects.create(customer=customer, order=order, text=text, author_id=actor.user_id,
                               author_label=actor.label)  # fmt: skip
    if order is not None:
        record(order, "note", actor=actor, reason=text, payload={"note": note.pk})
    return note
