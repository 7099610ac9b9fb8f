"""Outbox consumers of the payments sub-package (registered in OrdersConfig.ready())."""

from __future__ import annotations

from functools import partial

from django.db import transaction

from oms.models import OutboxEvent
from oms.outbox import consumer
from orders.payments.tasks import order_advance


@consumer("orders.payments.advance", "order.hold_resolved")
def advance_after_hold(event: OutboxEvent) -> None:
    """The last hold was resolved and the order resumed: if it is back at `validated`, the
    payment rule decides whether it goes on to `ready` (capturing first where needed)."""
    if event.subject_type == "orders.order":
        # The job calls the gateway: after this delivery commits, never inside it.
        transaction.on_commit(partial(order_advance.delay, int(event.subject_id)))
