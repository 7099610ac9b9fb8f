"""Thin Celery tasks over the fulfilment services (beat jobs)."""

from __future__ import annotations

from celery import shared_task

from fulfillment.execution import jobs, message_delivery, pickup
from fulfillment.tracking import services as tracking


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


@shared_task(acks_late=True)
def node_messages_send(message_ids: list[str]) -> int:
    return message_delivery.node_messages_send(message_ids=message_ids)


@shared_task
def node_messages_send_due() -> int:
    return message_delivery.node_messages_send_due()
