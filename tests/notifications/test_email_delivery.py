"""Sending e-mails: at most once per (event, recipient, template), retried with backoff."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import tasks
from notifications.models import EmailLog
from notifications.services.emails import email_retry, emails_for_event, emails_send, emails_send_due
from oms import outbox
from oms.models import OpsException, OutboxDelivery, OutboxEvent
from tests.notifications.conftest import free_port
from tests.payments.helpers import body

pytestmark = pytest.mark.django_db


def capture(api, run_commits):
    response = run_commits(api.client.post, "/api/v1/orders/", body(), format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def make_due():
    EmailLog.objects.filter(status="pending").update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def test_a_redelivered_job_or_event_sends_no_second_e_mail(api, run_commits, smtp_server):
    capture(api, run_commits)
    assert len(smtp_server.messages) == 1
    log = EmailLog.objects.get(template="order_confirmation")
    event = OutboxEvent.objects.get(pk=log.event_id)
    # The broker redelivers the send job (acks_late), twice over.
    run_commits(tasks.emails_send.delay, [str(log.pk)])
    run_commits(tasks.emails_send.apply, ([str(log.pk)],))
    # The outbox redelivers the event; and even the consumer itself runs again.
    OutboxEvent.objects.filter(pk=event.pk).update(dispatched_at=None)
    run_commits(outbox.relay)
    run_commits(emails_for_event, event=event)
    make_due()
    run_commits(emails_send_due)
    assert len(smtp_server.messages) == 1
    assert EmailLog.objects.filter(template="order_confirmation").count() == 1
    assert EmailLog.objects.get(pk=log.pk).attempts == 1


def test_it_retries_with_backoff_while_the_smtp_server_is_down(api, run_commits, smtp_server, settings):
    settings.EMAIL_PORT = free_port()  # nothing listens there
    capture(api, run_commits)
    log = EmailLog.objects.get(template="order_confirmation")
    assert (log.status, log.attempts) == ("pending", 1)
    assert "Connection refused" in log.last_error or "Errno" in log.last_error
    assert log.next_attempt_at > timezone.now(), "the retry waits"
    run_commits(emails_send_due)
    assert EmailLog.objects.get(pk=log.pk).attempts == 1, "not due yet: not tried again"
    make_due()
    run_commits(emails_send_due)
    second = EmailLog.objects.get(pk=log.pk)
    assert second.attempts == 2
    assert second.next_attempt_at - timezone.now() > log.next_attempt_at - log.created_at, "the wait grows"
    settings.EMAIL_PORT = smtp_server.controller.port  # the server is back
    make_due()
    run_commits(emails_send_due)
    assert EmailLog.objects.get(pk=log.pk).status == "sent"
    assert len(smtp_server.messages) == 1


def test_it_gives_up_after_the_configured_attempts_and_alerts_a_csr(api, run_commits, smtp_server, settings):
    settings.EMAIL_MAX_ATTEMPTS = 2
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()
    order = capture(api, run_commits)
    make_due()
    run_commits(emails_send_due)
    log = EmailLog.objects.get(template="order_confirmation")
    assert (log.status, log.attempts, log.next_attempt_at) == ("failed", 2, None)
    alert = OpsException.objects.get(type="email_failed")
    assert (alert.subject_label, alert.merchant) == (order["number"], api.merchant)
    assert "ana@example.com" in alert.message
    # Fixed: a CSR retries it from the e-mail log.
    settings.EMAIL_PORT = port
    assert run_commits(email_retry, email=log)
    assert EmailLog.objects.get(pk=log.pk).status == "sent"
    assert len(smtp_server.messages) == 1


def test_a_claim_left_by_a_dead_worker_is_sent_later_but_not_by_a_redelivered_job(
    api, run_commits, smtp_server, settings
):
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()
    capture(api, run_commits)
    log = EmailLog.objects.get(template="order_confirmation")
    # The worker claimed it and died mid-send.
    EmailLog.objects.filter(pk=log.pk).update(status="sending", claimed_at=timezone.now())
    settings.EMAIL_PORT = port
    run_commits(tasks.emails_send.delay, [str(log.pk)])
    assert smtp_server.messages == [], "the redelivered job sees the claim and leaves it"
    EmailLog.objects.filter(pk=log.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    run_commits(emails_send_due)
    assert len(smtp_server.messages) == 1
    assert EmailLog.objects.get(pk=log.pk).status == "sent"


def test_consumers_that_succeed_leave_no_delivery_rows(api, run_commits, smtp_server):
    capture(api, run_commits)
    event = OutboxEvent.objects.get(type="order.validated")
    assert event.dispatched_at is not None
    assert not OutboxDelivery.objects.filter(event=event).exists()


def test_one_job_sends_the_e_mails_of_a_batch_in_two_statements(api, run_commits, smtp_server, settings):
    """Claimed and read in one UPDATE ... RETURNING, marked sent in one UPDATE, however many."""
    port, settings.EMAIL_PORT = settings.EMAIL_PORT, free_port()  # the e-mails wait, pending
    for _ in range(3):
        capture(api, run_commits)
    settings.EMAIL_PORT = port
    make_due()
    ids = [str(pk) for pk in EmailLog.objects.values_list("pk", flat=True)]
    assert len(ids) == 3
    with CaptureQueriesContext(connection) as queries:
        assert emails_send(email_ids=ids) == 3
    assert len(queries) == 2
    assert len(smtp_server.messages) == 3
    assert set(EmailLog.objects.values_list("status", flat=True)) == {"sent"}
    assert emails_send(email_ids=ids) == 0, "a redelivered job finds them sent"
    assert len(smtp_server.messages) == 3
