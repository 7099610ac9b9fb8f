"""Thin Celery tasks over the notification services."""

from __future__ import annotations

from notifications.services import emails, webhooks
from oms.celery import app


@app.task(acks_late=True)
def emails_send(email_ids: list[str]) -> int:
    return emails.emails_send(email_ids=email_ids)


@app.task
def emails_send_due() -> int:
    return emails.emails_send_due()


@app.task(acks_late=True)
def webhook_send(delivery_ids: list[str]) -> None:
    webhooks.webhook_deliveries_send(delivery_ids=delivery_ids)


@app.task
def webhooks_send_due() -> int:
    return webhooks.webhooks_send_due()
