"""Order search: one box that finds an order by what a customer or a colleague quotes.

Matches a part of the order number, external id, the channel's order name, e-mail, a line's SKU
or product name, the phone (digits only, however it is typed), the postal code (whole), and
whatever later apps register (fulfillment: tracking numbers). Lines and the rest are matched
with EXISTS, so an order matches once and the list keeps its query count. On PostgreSQL each
`icontains` is served by a pg_trgm GIN index on UPPER(column) (orders migration 0004); SQLite
scans, more slowly, and finds the same orders.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db.models import Exists, OuterRef, Q, QuerySet

from orders.models import Order, OrderLine

# Later apps add matchers (term -> condition on Order) in their AppConfig.ready().
ORDER_SEARCH_MATCHERS: list[Callable[[str], Q | Exists]] = []
PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")


def _digits(term: str) -> str:
    return re.sub(r"\D", "", term)


def order_search_condition(term: str) -> Q:
    """The condition an order meets when `term` finds it."""
    term = term.strip()
    lines = OrderLine.objects.filter(order=OuterRef("pk")).filter(Q(sku__icontains=term) | Q(name__icontains=term))
    condition = (
        Q(number__icontains=term)
        | Q(external_id__icontains=term)
        | Q(channel_order_name__icontains=term)
        | Q(email__icontains=term)
        | Q(shipping_address__postal_code__iexact=term)
        | Q(Exists(lines))
    )
    digits = _digits(term).lstrip("0")  # a national trunk 0 is not in the E.164 number
    if PHONE.match(term) and len(digits) >= 6:
        condition |= Q(phone__contains=digits)
    for matcher in ORDER_SEARCH_MATCHERS:
        condition |= Q(matcher(term))
    return condition


def order_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """The orders of `queryset` that `term` finds (all of them for a blank term)."""
    if not term.strip():
        return queryset
    return queryset.filter(order_search_condition(term))
