"""Thin Celery tasks over the payment services."""

from __future__ import annotations

from celery import shared_task

from oms.actors import Actor
from orders.payments import executor, services

JOB = Actor.system("payments job")


@shared_task(acks_late=True)
def payment_transactions_execute(txn_ids: list[int]) -> None:
    executor.execute_many(txn_ids, actor=JOB)


@shared_task
def payments_retry_due() -> int:
    return services.payments_retry_due()


@shared_task
def payments_reauthorize_due() -> int:
    return services.payments_reauthorize_due()
