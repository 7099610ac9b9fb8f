"""The exception queue: severity by type and order value, SLA deadlines, the queues, bulk work."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from oms.actors import Actor
from oms.alerts import exception_raise
from oms.exception_queues import exception_counts, exceptions_in_queue
from oms.models import ExceptionPolicy, OpsException
from orders.models import Hold
from orders.services.holds import hold_place
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:oms_opsexception_changelist"


def fraud_review(total: str) -> OpsException:
    order = OrderFactory(total=Decimal(total))
    hold_place(order=order, type=Hold.Type.FRAUD, reason="score 82", actor=Actor.system("fraud"))
    return OpsException.objects.get(order_pk=order.pk, type="fraud_hold")


def test_a_high_value_fraud_review_is_high_and_a_small_one_medium():
    big, small = fraud_review("6255.00"), fraud_review("48.38")
    assert (big.severity, small.severity) == ("high", "medium")
    assert big.value == Decimal("6255.00")
    assert big.order_number
    assert round((big.first_touch_due_at - big.created_at).total_seconds()) == 30 * 60
    assert round((big.resolve_due_at - big.created_at).total_seconds()) == 4 * 3600


def test_an_operator_policy_overrides_the_default():
    ExceptionPolicy.objects.create(
        type="pick_delay", title="Late pick", severity="low", high_value=None, first_touch_minutes=5, resolve_minutes=10
    )
    order = OrderFactory(total=Decimal("9999"))
    exc = exception_raise(type="pick_delay", subject=order, message="late", merchant=order.merchant)
    assert exc.severity == "low"
    assert round((exc.resolve_due_at - exc.created_at).total_seconds()) == 10 * 60


def test_the_queues_split_open_exceptions_by_owner_and_deadline(csr):
    now = timezone.now()
    soon, late, later = fraud_review("10"), fraud_review("20"), fraud_review("30")
    OpsException.objects.filter(pk=soon.pk).update(first_touch_due_at=now + timedelta(minutes=20))
    OpsException.objects.filter(pk=late.pk).update(first_touch_due_at=now - timedelta(minutes=5))
    OpsException.objects.filter(pk=later.pk).update(assignee=csr.user, first_touched_at=now)
    queue = OpsException.objects.all()

    def ids(name):
        return {e.pk for e in exceptions_in_queue(queue, queue=name, user=csr.user, now=now)}

    assert ids("breaching_soon") == {soon.pk}
    assert ids("breached") == {late.pk}
    assert ids("mine") == {later.pk}
    assert ids("unassigned") == {soon.pk, late.pk}
    counts = exception_counts(user=csr.user, now=now)
    assert (counts["open"], counts["mine"], counts["breached"], counts["breaching_soon"]) == (3, 1, 1, 1)

    page = csr.get(reverse(CHANGELIST), {"queue": "breaching_soon"}).content.decode()
    assert f"Fraud review: order {soon.order_number}" in page
    assert late.order_number not in page
    listing = csr.get(reverse(CHANGELIST), {"open": "yes"}).content.decode()
    # The overdue one comes first, then the one due soon.
    assert listing.index(late.order_number) < listing.index(soon.order_number)


def test_bulk_assign_and_resolve_confirm_what_they_did(csr):
    picked = [fraud_review(str(n)) for n in (1, 2, 3)]
    ids = [str(e.pk) for e in picked]
    response = csr.post(reverse(CHANGELIST) + "?open=yes", {"action": "assign", "_selected_action": ids}, follow=True)
    assert "Assigned 3 exception(s) to you." in response.content.decode()
    for exc in OpsException.objects.filter(pk__in=ids):
        assert (exc.assignee, exc.status) == (csr.user, "in_progress")
        assert exc.first_touched_at is not None

    response = csr.post(reverse(CHANGELIST) + "?open=yes", {"action": "resolve", "_selected_action": ids}, follow=True)
    assert "Resolved 3 exception(s)." in response.content.decode()
    assert set(OpsException.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"resolved"}


def test_the_exception_page_links_its_order_and_holds(csr):
    exc = fraud_review("6255")
    page = csr.get(reverse("admin:oms_opsexception_change", args=[exc.pk])).content.decode()
    assert reverse("admin:orders_order_change", args=[exc.order_pk]) in page
    assert f"Order {exc.order_number}" in page


def test_the_admin_index_counts_the_queues(csr):
    fraud_review("6255")
    page = csr.get(reverse("admin:index")).content.decode()
    assert "Unassigned: 1" in page


def test_a_csr_sees_the_backorder_list(csr):
    assert csr.get(reverse("admin:fulfillment_backorder_changelist")).status_code == 200
