"""Read side of the customer view: their orders, what they spent, and one timeline of what
happened with them (orders, CSR notes, and what later apps register: messages sent, returns)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum

from orders.models import Customer, Order, OrderStatus, Payment
from orders.notes.models import Note

# How many entries of each kind the timeline shows (the newest).
TIMELINE_LIMIT = 100


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    kind: str  # "order" | "note" | "email" | what a later app adds
    text: str
    who: str = ""
    url: str = ""


# Later apps add entries (customer -> entries) from their admin.py (notifications: e-mails).
CUSTOMER_TIMELINE_SOURCES: list[Callable[[Customer], list[TimelineEntry]]] = []


def customer_orders(*, customer: Customer) -> QuerySet[Order]:
    return customer.orders.select_related("channel").order_by("-placed_at", "-id")


def customer_spent(*, customer: Customer) -> list[tuple[str, int, Decimal, Decimal]]:
    """(currency, orders, total, refunded) over the customer's orders that were not cancelled;
    refunded is what the payments gave back (returns, appeasements, partial cancellations)."""
    rows = (
        customer.orders.exclude(status=OrderStatus.CANCELLED)
        .values("currency")
        .annotate(orders=Count("pk"), total=Sum("total"))
        .order_by("currency")
    )
    refunded = dict(
        Payment.objects.filter(order__customer=customer)
        .values("currency")
        .annotate(refunded=Sum("refunded_amount"))
        .values_list("currency", "refunded")
    )
    return [(r["currency"], r["orders"], r["total"], refunded.get(r["currency"]) or Decimal(0)) for r in rows]


def customer_notes(*, customer: Customer) -> QuerySet[Note]:
    return customer.csr_notes.select_related("order").order_by("-created_at", "-id")


def customer_timeline(*, customer: Customer, order_url: Callable[[Order], str]) -> list[TimelineEntry]:
    """Newest first: orders placed, notes (with the order they are about), then registered sources."""
    entries = [
        TimelineEntry(o.placed_at, "order", f"Placed order {o.number} on {o.channel.code}: {o.total:.2f} "
                      f"{o.currency}, now {o.get_status_display().lower()}", url=order_url(o))
        for o in customer_orders(customer=customer)[:TIMELINE_LIMIT]
    ]  # fmt: skip
    entries += [
        TimelineEntry(n.created_at, "note", f"Note on order {n.order.number}: {n.text}" if n.order else
                      f"Note: {n.text}", who=n.author_label, url=order_url(n.order) if n.order else "")
        for n in customer_notes(customer=customer)[:TIMELINE_LIMIT]
    ]  # fmt: skip
    for source in CUSTOMER_TIMELINE_SOURCES:
        entries += source(customer)
    return sorted(entries, key=lambda e: e.at, reverse=True)
