"""Read side of the exception queue: the queues, urgency order, counts and readable subjects."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db.models import Case, Count, DateTimeField, F, IntegerField, Q, QuerySet, Value, When
from django.urls import NoReverseMatch, reverse

from oms.exception_policy import title_of
from oms.models import OpsException

QUEUES = {
    "mine": "My queue",
    "unassigned": "Unassigned",
    "breaching_soon": "Breaching soon",
    "breached": "Breaching (SLA missed)",
}
OPEN = Q(status__in=OpsException.OPEN_STATUSES)
# The deadline that counts now: first touch until someone touched it, then resolution.
DUE = Case(
    When(first_touched_at__isnull=True, first_touch_due_at__isnull=False, then=F("first_touch_due_at")),
    default=F("resolve_due_at"),
    output_field=DateTimeField(),
)
SEVERITY_RANK = Case(
    *(When(severity=s, then=Value(rank)) for rank, s in enumerate(["critical", "high", "medium", "low"])),
    default=Value(9),
    output_field=IntegerField(),
)


def breach_warning() -> timedelta:
    """How close to its deadline an exception counts as breaching soon."""
    return timedelta(minutes=settings.OMS_EXCEPTION_BREACH_WARNING_MINUTES)


def exceptions_by_urgency(queryset: QuerySet[OpsException]) -> QuerySet[OpsException]:
    """Open first; among them the nearest deadline, then the highest severity; closed ones last."""
    return queryset.annotate(due=DUE, severity_rank=SEVERITY_RANK).order_by(
        F("resolved_at").asc(nulls_first=True), F("due").asc(nulls_last=True), "severity_rank", "created_at"
    )


def exceptions_in_queue(queryset: QuerySet[OpsException], *, queue: str, user: Any, now: datetime) -> QuerySet[Any]:
    """The open exceptions of one queue (QUEUES)."""
    queryset = queryset.filter(OPEN).annotate(due=DUE)
    if queue == "mine":
        return queryset.filter(assignee=user)
    if queue == "unassigned":
        return queryset.filter(assignee__isnull=True)
    if queue == "breaching_soon":
        return queryset.filter(due__gt=now, due__lte=now + breach_warning())
    if queue == "breached":
        return queryset.filter(due__lte=now)
    raise ValueError(queue)


def exception_counts(*, user: Any, now: datetime) -> dict[str, int]:
    """The queue sizes shown on the admin index, in one query."""
    due_soon = Q(due__gt=now, due__lte=now + breach_warning())
    return (
        OpsException.objects.filter(OPEN)
        .annotate(due=DUE)
        .aggregate(
            open=Count("pk"),
            mine=Count("pk", filter=Q(assignee=user)),
            unassigned=Count("pk", filter=Q(assignee__isnull=True)),
            breaching_soon=Count("pk", filter=due_soon),
            breached=Count("pk", filter=Q(due__lte=now)),
            high=Count("pk", filter=Q(severity__in=["high", "critical"])),
        )
    )


def subject_name(subject_type: str) -> str:
    try:
        return str(apps.get_model(subject_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return subject_type.rpartition(".")[2]


def admin_url_of(subject_type: str, subject_id: str) -> str:
    """The admin page of an exception's subject, if it has one."""
    app_label, _, model = subject_type.partition(".")
    try:
        return reverse(f"admin:{app_label}_{model}_change", args=[subject_id])
    except NoReverseMatch:
        return ""


def exception_subject_line(exc: OpsException) -> str:
    """E.g. 'Carrier exception: shipment metropost MP781 of order DEMO-00012'."""
    what = f"{title_of(exc.type)}: "
    if exc.subject_type == "orders.order":
        return f"{what}order {exc.order_number or exc.subject_label}"
    line = f"{what}{subject_name(exc.subject_type)} {exc.subject_label}"
    return f"{line} of order {exc.order_number}" if exc.order_number else line
