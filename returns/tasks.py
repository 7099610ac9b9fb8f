"""Thin Celery tasks over the returns services (beat jobs)."""

from __future__ import annotations

from celery import shared_task

from returns.services import exchanges, receiving


@shared_task
def returns_expire_due() -> int:
    return receiving.returns_expire_due()


@shared_task
def exchanges_capture_due() -> int:
    return exchanges.exchanges_capture_due()
