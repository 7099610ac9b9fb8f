"""Outbox consumers of orders (registered in OrdersConfig.ready())."""

from __future__ import annotations

from oms.models import OutboxEvent
from oms.outbox import consumer, enqueue_after_commit
from orders.tasks import order_chain


@consumer("orders.chain", "order.hold_resolved")
def chain_after_hold(event: OutboxEvent) -> None:
    """The last hold was resolved and the order resumed where it stopped: its chain goes on from
    there (payment rule, allocation or release), in a job after this delivery commits."""
    if event.subject_type == "orders.order":
        enqueue_after_commit(order_chain, int(event.subject_id), "hold_resolved")
