"""Order search: one box that finds an order by what a customer or a colleague quotes.

Matches a part of the order number, external id, the channel's order name, e-mail, a line's SKU
or product name, the phone (digits only, however it is typed), the postal code (whole), and
whatever later apps register (fulfillment: tracking numbers). The matching order ids are one
UNION subquery (one query per table, each served by its indexes) that the list filters on, so
an order matches once and the list keeps its query count. On PostgreSQL each `icontains` is
served by a pg_trgm GIN index on UPPER(column) (orders migration 0004): an OR over one table's
indexed columns becomes a BitmapOr, where an OR with a correlated EXISTS made PostgreSQL visit
every order. SQLite scans, more slowly, and finds the same orders.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.db.models import Q, QuerySet

from orders.models import Order, OrderLine

# Later apps add matchers (term -> the ids of the orders it finds) in their AppConfig.ready().
ORDER_SEARCH_MATCHERS: list[Callable[[str], QuerySet[Any]]] = []
PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")


def _digits(term: str) -> str:
    return re.sub(r"\D", "", term)


def _ids(model: Any, column: str, condition: Q) -> QuerySet[Any]:
    # No ordering: a model's default ordering would sort (and join) inside the UNION.
    return model.objects.filter(condition).order_by().values(column)


def order_search_ids(term: str) -> QuerySet[Any]:
    """The ids of the orders `term` finds: a UNION of one query per searched column. Each is
    served by its own index; ORed in one query, PostgreSQL would rather scan the table."""
    term = term.strip()
    parts = [
        _ids(Order, "pk", Q(**{f"{column}__icontains": term}))
        for column in ("number", "external_id", "channel_order_name", "email")
    ]
    parts.append(_ids(Order, "pk", Q(shipping_address__postal_code__iexact=term)))
    digits = _digits(term).lstrip("0")  # a national trunk 0 is not in the E.164 number
    if PHONE.match(term) and len(digits) >= 6:
        parts.append(_ids(Order, "pk", Q(phone__icontains=digits)))
    parts += [_ids(OrderLine, "order_id", Q(**{f"{column}__icontains": term})) for column in ("sku", "name")]
    parts += [matcher(term).order_by() for matcher in ORDER_SEARCH_MATCHERS]
    return parts[0].union(*parts[1:])


def order_search(queryset: QuerySet[Order], term: str) -> QuerySet[Order]:
    """The orders of `queryset` that `term` finds (all of them for a blank term)."""
    if not term.strip():
        return queryset
    return queryset.filter(pk__in=order_search_ids(term))
