"""Thin Celery tasks over the routing services: the allocation job per order and beat jobs."""

from __future__ import annotations

from celery import shared_task

from fulfillment.routing import services
from oms.actors import Actor

JOB = Actor.system("routing job")


@shared_task(acks_late=True)
def order_reroute_amended(order_id: int) -> int | None:
    decision = services.order_reroute_after_amendment(order_id=order_id, actor=JOB)
    return decision.pk if decision else None


@shared_task(acks_late=True)
def backorders_retry(trigger: str = "retry") -> int:
    return services.backorders_retry_due(trigger=trigger)


@shared_task
def backorders_expire() -> int:
    return services.backorders_expire()


@shared_task
def backorders_age_detect() -> int:
    return services.backorders_age_detect()
