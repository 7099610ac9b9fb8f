"""Customer e-mails: created once per (event, recipient, template), sent by a Celery job.

The outbox consumer renders each message into an EmailLog row in the relay's batch (one INSERT
under the consumer's savepoint) and schedules the send job after commit, one job for all the
e-mails of the batch; an event whose messages the merchant switched off costs nothing
(`emails_wanted`: no row, no query). The job claims its rows by compare-and-set (pending ->
sending, one UPDATE ... RETURNING), sends each through Django's e-mail backend and marks those
sent in one UPDATE; a failure puts its e-mail back to pending with a next-attempt time that the
beat job `emails_send_due` honours. A redelivered job finds the rows already claimed or sent
and does nothing.
"""

from __future__ import annotations

import logging
import random
import smtplib
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import connection, transaction
from django.utils import timezone

from notifications.messages import Message, messages_for, order_context, order_for_event
from notifications.messages import message_context as build_context
from notifications.models import EmailLog, NotificationSettings
from notifications.rendering import branding, render, sender
from notifications.subjects import subject_object
from oms.alerts import exception_raise
from oms.caches import ProcessCache
from oms.models import OutboxEvent
from oms.outbox import enqueue_ids_after_commit

logger = logging.getLogger(__name__)

EMAIL_FAILED = "email_failed"


def _notification_settings(merchant_id: int) -> NotificationSettings | None:
    return NotificationSettings.objects.filter(merchant_id=merchant_id).first()


# Per process: read for every e-mail, changed rarely (oms.caches).
NOTIFICATION_SETTINGS = ProcessCache(
    "notifications.settings", _notification_settings, invalidated_by=(NotificationSettings,)
)


def _enqueue(email_ids: list[uuid.UUID]) -> None:
    """Send the e-mails in a job after commit, one for all those of the transaction; with the
    broker down, emails_send_due does."""
    from notifications.tasks import emails_send

    enqueue_ids_after_commit(emails_send, [str(pk) for pk in email_ids])


def _messages(event: OutboxEvent) -> list[Message]:
    """The messages `event` sends: wanted for its payload and not switched off by the merchant
    (from the per-process settings cache: no query once loaded)."""
    if event.merchant_id is None:
        return []
    messages = [m for m in messages_for(event.type) if m.wanted(event.payload or {})]
    if not messages:
        return []
    prefs = NOTIFICATION_SETTINGS.get(event.merchant_id)
    return [m for m in messages if prefs is None or m.key not in prefs.disabled_messages]


def emails_wanted(event: OutboxEvent) -> bool:
    """Whether the e-mail consumer has anything to do for `event` (the relay asks first)."""
    return bool(_messages(event))


def emails_for_event(*, event: OutboxEvent) -> list[EmailLog]:
    """Render the e-mails `event` sends and schedule their sending after commit.

    One INSERT, no savepoint of its own: a redelivered event meets the unique (event,
    recipient, template) and inserts nothing, and the send job it schedules finds no row.
    """
    messages = _messages(event)
    if not messages:
        return []
    found = order_for_event(event)
    if found is None or not found[0].email:
        logger.info("event %s (%s) names no order with an e-mail address: no e-mail", event.pk, event.type)
        return []
    order, lines = found
    prefs = NOTIFICATION_SETTINGS.get(event.merchant_id)  # type: ignore[arg-type]
    base = order_context(order, lines, status_url=prefs.order_status_url if prefs else "")
    brand = branding(order.merchant, prefs)
    # The subject as the API shows it (a shipment's carrier name, say) completes the payload.
    subject = subject_object(event)[1] if event.subject_type != "orders.order" else None
    tracking = prefs.tracking_url_template if prefs else ""
    # If the send job never reaches the broker, the beat job sends it after this.
    due = timezone.now() + timedelta(seconds=settings.OUTBOX_SWEEP_AFTER_SECONDS)
    logs = []
    for message in messages:
        context = build_context(message, event, base, tracking_template=tracking, subject=subject)
        rendered = render(message, {**context, "brand": brand})
        logs.append(
            EmailLog(
                merchant_id=event.merchant_id, order=order, event_id=event.pk, event_type=event.type,
                template=message.key, recipient=order.email, sender=sender(order.merchant, prefs),
                reply_to=prefs.reply_to if prefs else "", subject=rendered.subject, text_body=rendered.text,
                html_body=rendered.html, status=EmailLog.Status.PENDING, next_attempt_at=due,
            )
        )  # fmt: skip
    EmailLog.objects.bulk_create(logs, ignore_conflicts=True)
    _enqueue([log.pk for log in logs])
    return logs


def _backoff(attempts: int) -> timedelta:
    seconds = min(settings.EMAIL_RETRY_BASE_SECONDS * 2 ** (attempts - 1), 3600)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 - jitter, not crypto


def _permanent(exc: Exception) -> bool:
    """The server refused every recipient for good (5xx): retrying cannot help."""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and all(code >= 500 for code, _ in exc.recipients.values())


def _message(log: EmailLog) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=log.subject,
        body=log.text_body,
        from_email=log.sender,
        to=[log.recipient],
        reply_to=[log.reply_to] if log.reply_to else None,
        headers={"Message-ID": log.message_id, "X-OMS-Event": str(log.event_id)},
    )
    message.attach_alternative(log.html_body, "text/html")
    return message


# Claim and read in one statement: the rows this caller moved from pending to sending.
_CLAIM = """
    UPDATE notifications_emaillog SET status = %s, claimed_at = %s, attempts = attempts + 1
    WHERE id IN ({ids}) AND status = %s AND (attempts = 0 OR next_attempt_at <= %s)
    RETURNING *
"""


def emails_send(*, email_ids: list[Any]) -> int:
    """Send those of the e-mails that are pending and due and that this caller wins the claim
    of (a redelivered job finds them claimed or sent); return how many were sent."""
    if not email_ids:
        return 0
    # Raw SQL takes the values as the database stores them (SQLite: UUIDs as hex, naive UTC).
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    pk = EmailLog._meta.pk
    ids = [pk.get_db_prep_value(pk.to_python(email_id), connection) for email_id in email_ids]
    sql = _CLAIM.format(ids=", ".join(["%s"] * len(ids)))
    claimed = list(EmailLog.objects.raw(sql, [EmailLog.Status.SENDING, now, *ids, EmailLog.Status.PENDING, now]))
    sent = []
    for log in claimed:
        try:
            _message(log).send(fail_silently=False)
        except Exception as exc:
            _send_failed(log, exc)
            continue
        sent.append(log.pk)
    if sent:
        EmailLog.objects.filter(pk__in=sent, status=EmailLog.Status.SENDING).update(
            status=EmailLog.Status.SENT, sent_at=timezone.now(), next_attempt_at=None, last_error=""
        )
    return len(sent)


def _send_failed(log: EmailLog, exc: Exception) -> None:
    logger.warning("e-mail %s to %s failed (attempt %s): %r", log.pk, log.recipient, log.attempts, exc)
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if log.attempts < settings.EMAIL_MAX_ATTEMPTS and not _permanent(exc):
        EmailLog.objects.filter(pk=log.pk, status=EmailLog.Status.SENDING).update(
            status=EmailLog.Status.PENDING, next_attempt_at=timezone.now() + _backoff(log.attempts), last_error=error
        )
        return
    with transaction.atomic():
        EmailLog.objects.filter(pk=log.pk, status=EmailLog.Status.SENDING).update(
            status=EmailLog.Status.FAILED, next_attempt_at=None, last_error=error
        )
        exception_raise(
            type=EMAIL_FAILED,
            subject=log.order or log,
            message=f"The {log.template.replace('_', ' ')} e-mail to {log.recipient} could not be sent after "
            f"{log.attempts} attempt(s): {error}. Check the address, then retry it from the e-mail log.",
            merchant=log.merchant,
        )


def emails_send_due(*, batch: int = 200) -> int:
    """Send e-mails whose retry is due or whose send job never ran; return how many were tried."""
    now = timezone.now()
    # A worker that died mid-send left its claim behind: after a generous timeout, send again.
    stale = now - timedelta(seconds=10 * settings.EMAIL_TIMEOUT)
    EmailLog.objects.filter(status=EmailLog.Status.SENDING, claimed_at__lt=stale).update(
        status=EmailLog.Status.PENDING, next_attempt_at=now
    )
    due = list(
        EmailLog.objects.filter(status=EmailLog.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    emails_send(email_ids=due)
    return len(due)


@transaction.atomic
def email_retry(*, email: EmailLog) -> bool:
    """Put a failed e-mail back in the queue now (from the admin); return False if it was not failed."""
    updated = EmailLog.objects.filter(pk=email.pk, status=EmailLog.Status.FAILED).update(
        status=EmailLog.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    if updated:
        _enqueue([email.pk])
    return bool(updated)
