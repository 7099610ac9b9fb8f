"""Fraud rules: each looks at an order and returns the hits it finds (score and reason)."""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Exists, IntegerField, QuerySet, Subquery, Value
from django.utils import timezone

from oms.caches import ProcessCache
from oms.compiled import CompiledQuery, Markers
from orders.fraud.models import DenyListEntry, FraudSettings
from orders.models import (
    ORDER_ADDRESS_KEY,
    ORDER_EMAIL_KEY,
    Order,
    OrderStatus,
    Payment,
    velocity_address,
    velocity_email,
)


@dataclass(frozen=True)
class Hit:
    rule: str
    score: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# A rule is a pure function of the order, the merchant's settings and the facts read for it.
Rule = Callable[[Order, FraudSettings, "Facts"], list[Hit]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


@lru_cache(maxsize=1)
def disposable_domains() -> frozenset[str]:
    text = (Path(__file__).with_name("disposable_domains.txt")).read_text()
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def normalize(value: str) -> str:
    return re.sub(r"\s+", " ", value or "").strip().lower()


def normalize_postal(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "").upper()


class _Count(Subquery):
    """How many rows `queryset` yields, as a scalar subquery."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _rows)"
    output_field = IntegerField()


@dataclass(frozen=True)
class Facts:
    """What the rules need from the merchant's other orders, read in one statement."""

    ordered_before: bool  # a previous order of this customer that was not cancelled
    recent: dict[str, int]  # e-mail / token / address -> orders of the window, this one included


def _facts_query(shape: Hashable, m: Markers) -> QuerySet:
    """One statement of scalar subqueries, each on an index (orders/models.py): the customer's
    orders, and the orders of the velocity window sharing this one's e-mail, payment token or
    shipping address. A count stops at the velocity threshold (`cap`), so a hot key (a
    marketplace's relay address) costs no more than the rule needs to decide."""
    tokens, by_address, cap, before = shape  # type: ignore[misc]
    merchant, order, since = m["merchant"].integer(), m["order"].integer(), m["since"].moment()
    others = Order.objects.filter(merchant_id=merchant).exclude(pk=order)
    recent = others.filter(created_at__gte=since)
    # Each: the ids of the other orders of the window with that key (one column, no ordering).
    email = velocity_email(Value(m["email"].text()))
    keys = {"by_email": recent.alias(key=ORDER_EMAIL_KEY).filter(key=email).values("pk")}
    if tokens:
        keys["by_token"] = Payment.objects.filter(
            token__in=[m[f"token{i}"].text() for i in range(tokens)], created_at__gte=since,
            order__merchant_id=merchant,
        ).exclude(order_id=order).values("order_id").distinct()  # fmt: skip
    if by_address:
        value = velocity_address(Value(m["line1"].text()), Value(m["postal_code"].text()), Value(m["country"].text()))
        keys["by_address"] = recent.alias(key=ORDER_ADDRESS_KEY).filter(key=value).values("pk")
    columns: dict[str, Any] = {key: _Count(qs.order_by()[:cap]) if cap else Value(0) for key, qs in keys.items()}
    if before:
        customer = m["customer"].integer()
        columns["before"] = Exists(others.filter(customer_id=customer).exclude(status=OrderStatus.CANCELLED))
    return Order.objects.filter(pk=order).values(**columns)


# The velocity keys: the columns `_facts_query` counts them in (not the model's own field names),
# and the names the rule gives them.
VELOCITY_KEYS = {"by_email": "e-mail address", "by_token": "payment token", "by_address": "shipping address"}
# Building this query costs Django more than PostgreSQL spends running it: built once per shape.
# Planned for each run's values: a generic plan would not use the velocity indexes (oms/compiled.py).
_FACTS = CompiledQuery(_facts_query, plan_each_run=True)


def facts(order: Order, s: FraudSettings) -> Facts:
    """What the rules need from the merchant's other orders, in one statement (`_facts_query`)."""
    address = order.shipping_address or {}
    tokens = sorted({payment.token for payment in order.payments.all()})
    by_address = bool(address.get("line1"))
    cap = max(s.velocity_orders - 1, 0)  # the others it takes to reach the threshold with this one
    before = order.total > s.first_order_value
    values = {
        "merchant": order.merchant_id, "order": order.pk, "customer": order.customer_id, "email": order.email,
        "since": timezone.now() - timedelta(minutes=s.velocity_minutes), "line1": address.get("line1", ""),
        "postal_code": address.get("postal_code", ""), "country": address.get("country", ""),
        **{f"token{i}": token for i, token in enumerate(tokens)},
    }  # fmt: skip
    row = _FACTS.run((len(tokens), by_address, cap, before), values)
    assert row is not None  # the order itself is the row
    return Facts(
        ordered_before=bool(row.get("before", False)),
        recent={what: row[key] + 1 for key, what in VELOCITY_KEYS.items() if key in row},
    )


@rule
def first_order_value(order: Order, s: FraudSettings, found: Facts) -> list[Hit]:
    if order.total <= s.first_order_value or found.ordered_before:
        return []
    return [
        Hit(
            "first_order_value",
            s.score_first_order_value,
            f"First order of this customer and worth {order.total} {order.currency}, above {s.first_order_value}.",
        )
    ]


@rule
def velocity(order: Order, s: FraudSettings, found: Facts) -> list[Hit]:
    fired = [(what, n) for what, n in found.recent.items() if n >= s.velocity_orders]
    if not fired:
        return []
    detail = ", ".join(f"at least {n} orders from one {what}" for what, n in fired)
    return [Hit("velocity", s.score_velocity, f"{detail} within {s.velocity_minutes} minutes.")]


@rule
def country_mismatch(order: Order, s: FraudSettings, found: Facts) -> list[Hit]:
    billing, shipping = order.billing_address or {}, order.shipping_address or {}
    if not billing.get("country") or not shipping.get("country") or billing["country"] == shipping["country"]:
        return []
    return [
        Hit(
            "country_mismatch",
            s.score_country_mismatch,
            f"Billing country {billing['country']} differs from shipping country {shipping['country']}.",
        )
    ]


@rule
def disposable_email(order: Order, s: FraudSettings, found: Facts) -> list[Hit]:
    domain = order.email.rsplit("@", 1)[-1].lower()
    if domain not in disposable_domains():
        return []
    return [Hit("disposable_email", s.score_disposable_email, f"E-mail domain {domain} is a disposable one.")]


def _normal(kind: str, value: str) -> str:
    return normalize_postal(value) if kind == DenyListEntry.Kind.POSTAL_CODE else normalize(value)


def _deny_list(merchant_id: int) -> dict[tuple[str, str], tuple[int, str]]:
    """(kind, normalized value) -> (entry id, the hit's reason)."""
    listed: dict[tuple[str, str], tuple[int, str]] = {}
    for entry in DenyListEntry.objects.filter(merchant_id=merchant_id).order_by("pk"):
        reason = f"{entry.get_kind_display()} '{entry.value}' is on the deny list."
        listed.setdefault((entry.kind, _normal(entry.kind, entry.value)), (entry.pk, reason))
    return listed


# Per process: every screening compares with it, CSRs change it rarely (oms.caches).
DENY_LIST = ProcessCache("orders.fraud_deny_list", _deny_list, invalidated_by=(DenyListEntry,))


@rule
def deny_list(order: Order, s: FraudSettings, found: Facts) -> list[Hit]:
    listed = DENY_LIST.get(order.merchant_id)
    if not listed:
        return []
    addresses = [a for a in (order.shipping_address, order.billing_address) if a]
    seen = {(DenyListEntry.Kind.EMAIL, order.email)}
    seen |= {(DenyListEntry.Kind.ADDRESS, a.get("line1", "")) for a in addresses}
    seen |= {(DenyListEntry.Kind.POSTAL_CODE, a.get("postal_code", "")) for a in addresses}
    matches = [listed[key] for key in {(kind, _normal(kind, value)) for kind, value in seen} if key in listed]
    if not matches:
        return []
    return [Hit("deny_list", s.score_deny_list, min(matches)[1])]  # the oldest entry that matches
