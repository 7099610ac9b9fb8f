"""Eligibility checks of a requested return line: each may reject it or send it to a person.

The checks are plugged in through settings.RETURN_ELIGIBILITY_CHECKS (dotted paths of
functions taking a LineRequest and returning a Verdict or None); the default list is below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.module_loading import import_string

from orders.models import OrderLine
from returns.models import Acceptance

DEFAULT_CHECKS = [
    "returns.eligibility.product_returnable",
    "returns.eligibility.within_return_window",
    "returns.eligibility.quantity_returnable",
    "returns.eligibility.condition",
]
# Conditions a customer may declare; anything but these two needs a person to look first.
RESALE_CONDITIONS = {"", "unopened", "like_new"}


@dataclass(frozen=True)
class LineRequest:
    order_line: OrderLine
    quantity: int
    condition: str
    delivered_at: datetime | None
    already_returned: int  # units received back or still on their way in open returns
    now: datetime


@dataclass(frozen=True)
class Verdict:
    outcome: str  # Acceptance.REJECTED or Acceptance.MANUAL_REVIEW
    reason: str


Check = Callable[[LineRequest], Verdict | None]


def product_returnable(req: LineRequest) -> Verdict | None:
    if not req.order_line.product.returnable:
        return Verdict(Acceptance.REJECTED, f"{req.order_line.sku} is final sale (not returnable).")
    return None


def within_return_window(req: LineRequest) -> Verdict | None:
    if req.delivered_at is None:
        return Verdict(Acceptance.REJECTED, f"{req.order_line.sku} has not been delivered yet.")
    days = req.order_line.product.return_window_days
    closes = req.delivered_at + timedelta(days=days)
    if req.now > closes:
        return Verdict(
            Acceptance.REJECTED,
            f"The {days}-day return window of {req.order_line.sku} closed on {closes:%Y-%m-%d} "
            f"(delivered {req.delivered_at:%Y-%m-%d}).",
        )
    return None


def quantity_returnable(req: LineRequest) -> Verdict | None:
    left = req.order_line.qty_delivered - req.already_returned
    if req.quantity > left:
        return Verdict(
            Acceptance.REJECTED,
            f"{req.order_line.sku}: {req.order_line.qty_delivered} delivered, {req.already_returned} already "
            f"returned or on the way; at most {max(left, 0)} can be returned.",
        )
    return None


def condition(req: LineRequest) -> Verdict | None:
    if req.condition not in RESALE_CONDITIONS:
        return Verdict(Acceptance.MANUAL_REVIEW, f"{req.order_line.sku} declared '{req.condition}': a CSR decides.")
    return None


def checks() -> list[Check]:
    return [import_string(path) for path in getattr(settings, "RETURN_ELIGIBILITY_CHECKS", DEFAULT_CHECKS)]


def evaluate(req: LineRequest) -> list[Verdict]:
    """Every verdict the checks give (empty: accepted)."""
    return [v for v in (check(req) for check in checks()) if v is not None]
