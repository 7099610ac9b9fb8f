"""Fraud rules: each looks at an order and returns the hits it finds (score and reason)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from orders.fraud.models import DenyListEntry, FraudSettings
from orders.models import Order, OrderStatus


@dataclass(frozen=True)
class Hit:
    rule: str
    score: int
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


Rule = Callable[[Order, FraudSettings], list[Hit]]
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


def _others(order: Order) -> Any:
    return Order.objects.filter(merchant_id=order.merchant_id).exclude(pk=order.pk)


@rule
def first_order_value(order: Order, s: FraudSettings) -> list[Hit]:
    if order.total <= s.first_order_value:
        return []
    previous = _others(order).filter(customer_id=order.customer_id).exclude(status=OrderStatus.CANCELLED)
    if previous.exists():
        return []
    return [
        Hit(
            "first_order_value",
            s.score_first_order_value,
            f"First order of this customer and worth {order.total} {order.currency}, above {s.first_order_value}.",
        )
    ]


@rule
def velocity(order: Order, s: FraudSettings) -> list[Hit]:
    since = timezone.now() - timedelta(minutes=s.velocity_minutes)
    recent = _others(order).filter(created_at__gte=since)
    address = order.shipping_address or {}
    tokens = [payment.token for payment in order.payments.all()]
    # One query: each count over the merchant's recent orders, this one excluded.
    same = {"e-mail address": Count("pk", filter=Q(email__iexact=order.email), distinct=True)}
    if tokens:
        same["payment token"] = Count("pk", filter=Q(payments__token__in=tokens), distinct=True)
    if address.get("line1"):
        same["shipping address"] = Count(
            "pk",
            filter=Q(
                shipping_address__line1__iexact=address["line1"],
                shipping_address__postal_code=address.get("postal_code", ""),
                shipping_address__country=address.get("country", ""),
            ),
            distinct=True,
        )
    found = recent.aggregate(**{f"n{i}": count for i, count in enumerate(same.values())})
    counts = [(what, found[f"n{i}"] + 1) for i, what in enumerate(same)]
    fired = [(what, n) for what, n in counts if n >= s.velocity_orders]
    if not fired:
        return []
    detail = ", ".join(f"{n} orders from one {what}" for what, n in fired)
    return [Hit("velocity", s.score_velocity, f"{detail} within {s.velocity_minutes} minutes.")]


@rule
def country_mismatch(order: Order, s: FraudSettings) -> list[Hit]:
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
def disposable_email(order: Order, s: FraudSettings) -> list[Hit]:
    domain = order.email.rsplit("@", 1)[-1].lower()
    if domain not in disposable_domains():
        return []
    return [Hit("disposable_email", s.score_disposable_email, f"E-mail domain {domain} is a disposable one.")]


@rule
def deny_list(order: Order, s: FraudSettings) -> list[Hit]:
    entries = list(DenyListEntry.objects.filter(merchant_id=order.merchant_id))
    if not entries:
        return []
    addresses = [a for a in (order.shipping_address, order.billing_address) if a]
    seen = {
        DenyListEntry.Kind.EMAIL: {normalize(order.email)},
        DenyListEntry.Kind.ADDRESS: {normalize(a.get("line1", "")) for a in addresses},
        DenyListEntry.Kind.POSTAL_CODE: {normalize_postal(a.get("postal_code", "")) for a in addresses},
    }
    hits = []
    for entry in entries:
        value = (
            normalize_postal(entry.value) if entry.kind == DenyListEntry.Kind.POSTAL_CODE else normalize(entry.value)
        )
        if value and value in seen[entry.kind]:
            hits.append(
                Hit("deny_list", s.score_deny_list, f"{entry.get_kind_display()} '{entry.value}' is on the deny list.")
            )
    return hits[:1] if hits else []
