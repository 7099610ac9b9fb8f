"""Outbox consumers of the payments sub-package (registered in OrdersConfig.ready())."""

from __future__ import annotations

from oms.models import OutboxEvent
from oms.outbox import consumer, enqueue_after_commit
from orders.payments.tasks import order_advance


@consumer("orders.payments.advance", "order.hold_resolved")
def advance_after_hold(event: OutboxEvent) -> None:
    """The last hold was resolved and the order resumed: if it is back at `validated`, the
    payment rule decides whether it goes on to `ready` (capturing first where needed)."""
    if event.subject_type == "orders.order":
        # The job calls the gateway: after this delivery commits, never inside it.
        enqueue_after_commit(order_advance, int(event.subject_id))
