"""Outbox consumers of fulfilment (registered in FulfillmentConfig.ready())."""

from __future__ import annotations

from fulfillment.tasks import order_release
from oms.models import OutboxEvent
from oms.outbox import consumer, enqueue_after_commit

# Routing's event that leaves fulfilment orders waiting in `created` (a partial allocation
# emits order.allocated too), and a resolved hold.
RELEASE_TRIGGERS = ("order.allocated", "order.hold_resolved")


@consumer("fulfillment.release", *RELEASE_TRIGGERS)
def release_after_allocation(event: OutboxEvent) -> None:
    """Release at once what may go (the beat job catches the rest, e.g. after a remorse period)."""
    order_id = event.payload.get("order_id") if event.subject_type != "orders.order" else event.subject_id
    if order_id:
        # The release may call the payment gateway: after this delivery commits, never inside it.
        enqueue_after_commit(order_release, int(order_id))
