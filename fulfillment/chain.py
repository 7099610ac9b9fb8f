"""Fulfilment's steps of the order chain (orders.chain), registered from FulfillmentConfig.ready():
allocation after the payment rule is met, release after allocation."""

from __future__ import annotations

from datetime import datetime

from fulfillment.execution.common import SYSTEM as RELEASE_JOB
from fulfillment.execution.release import order_release, orders_release_due
from fulfillment.routing.models import RoutingDecision
from fulfillment.routing.services import order_allocate, orders_allocate_ready, orders_allocation_due
from fulfillment.routing.services.backorders import stale_after
from fulfillment.routing.tasks import JOB as ROUTING_JOB
from oms.actors import Actor
from orders.chain import Step, chain_step_register
from orders.models import Order, OrderStatus


def _allocate(order_id: int, trigger: str, actor: Actor | None, now: datetime | None = None) -> str | None:
    decision = order_allocate(order_id=order_id, actor=actor or ROUTING_JOB, trigger=trigger or "ready")
    return decision.order.status if decision else None


def _allocate_due(now: datetime) -> list[int]:
    """The sweeper's allocation: ready orders left untaken, claimed and allocated in a batch."""
    return orders_allocate_ready(older_than=now - stale_after(), actor=ROUTING_JOB, trigger="sweep")


def _release(order_id: int, trigger: str, actor: Actor | None, now: datetime | None) -> str | None:
    if trigger == RoutingDecision.Trigger.HOLD_RESOLVED:
        # Units may have stayed open while the order was held: route them before releasing.
        _allocate(order_id, trigger, actor)
    released = order_release(order=Order(pk=order_id), actor=actor or RELEASE_JOB, now=now)
    return released[0].order.status if released else None


def register() -> None:
    # A backordered order reaches the chain only when its hold is resolved; its retries
    # otherwise follow the backorder schedule (backorders_retry).
    chain_step_register(
        statuses=[OrderStatus.READY, OrderStatus.BACKORDERED],
        step=Step("allocation", _allocate, orders_allocation_due, _allocate_due),
    )
    # Released and partly shipped orders too: a part re-routed after release waits in `created`.
    chain_step_register(
        statuses=[OrderStatus.ALLOCATED, OrderStatus.PARTIALLY_ALLOCATED, OrderStatus.RELEASED,
                  OrderStatus.PARTIALLY_SHIPPED],
        step=Step("release", _release, orders_release_due),
    )  # fmt: skip
