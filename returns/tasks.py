"""Thin Celery tasks over the returns services (beat jobs)."""

from __future__ import annotations

from celery import shared_task

from returns.services import receiving


@shared_task
def returns_expire_due() -> int:
    return receiving.returns_expire_due()
