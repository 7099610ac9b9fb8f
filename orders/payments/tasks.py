"""Thin Celery tasks over the payment services."""

from __future__ import annotations

from celery import shared_task

from oms.actors import Actor
from orders.payments import executor, services

JOB = Actor.system("payments job")


@shared_task(acks_late=True)
def order_advance(order_id: int) -> None:
    """The job after order capture (and after a hold is resolved): ready, or capture first."""
    services.order_advance(order_id=order_id, actor=JOB)


@shared_task(acks_late=True)
def payment_transactions_execute(txn_ids: list[int]) -> None:
    executor.execute_many(txn_ids, actor=JOB)


@shared_task
def payments_retry_due() -> int:
    return services.payments_retry_due()


@shared_task
def payments_reauthorize_due() -> int:
    return services.payments_reauthorize_due()


@shared_task
def orders_advance_stale() -> int:
    return services.orders_advance_stale()
