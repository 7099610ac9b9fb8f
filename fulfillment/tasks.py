"""Thin Celery tasks over the fulfilment services (beat jobs and the release job)."""

from __future__ import annotations

from celery import shared_task

from fulfillment.execution import jobs, pickup, release
from fulfillment.tracking import services as tracking
from orders.models import Order


@shared_task(acks_late=True)
def order_release(order_id: int) -> int:
    return len(release.order_release(order=Order(pk=order_id)))


@shared_task
def orders_release_due() -> int:
    return release.orders_release_due()


@shared_task
def pick_delays_detect() -> int:
    return jobs.pick_delays_detect()


@shared_task
def carrier_misses_detect() -> int:
    return tracking.carrier_misses_detect()


@shared_task
def trackers_poll() -> int:
    return tracking.trackers_poll()


@shared_task
def pickups_expire() -> int:
    return pickup.pickups_expire()


@shared_task
def orders_complete_due() -> int:
    return jobs.orders_complete_due()
