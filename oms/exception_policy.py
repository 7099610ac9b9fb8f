"""How each exception type is worked: severity (raised by the order's value) and SLA.

An `ExceptionPolicy` row overrides a type's defaults below; a type with neither gets FALLBACK.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from oms.models import ExceptionPolicy, OpsException

Sev = OpsException.Severity
ORDER = [Sev.LOW, Sev.MEDIUM, Sev.HIGH, Sev.CRITICAL]


@dataclass(frozen=True)
class Policy:
    title: str
    severity: str
    first_touch_minutes: int
    resolve_minutes: int
    high_value: Decimal | None = Decimal(1000)


H = 60  # minutes in an hour
DEFAULTS: dict[str, Policy] = {
    "fraud_hold": Policy("Fraud review", Sev.MEDIUM, 30, 4 * H),
    "address_hold": Policy("Address problem", Sev.MEDIUM, 60, 8 * H),
    "payment_hold": Policy("Payment problem", Sev.MEDIUM, 30, 4 * H),
    "payment_problem": Policy("Payment problem", Sev.MEDIUM, 30, 4 * H),
    "inventory_hold": Policy("Inventory hold", Sev.MEDIUM, 60, 8 * H),
    "tax_hold": Policy("Tax problem", Sev.LOW, 4 * H, 24 * H),
    "manual_hold": Policy("Manual hold", Sev.LOW, 4 * H, 24 * H),
    "payment_void_failed": Policy("Void failed", Sev.MEDIUM, 2 * H, 24 * H),
    "refund_failed": Policy("Refund failed", Sev.HIGH, 60, 8 * H),
    "carrier_exception": Policy("Carrier exception", Sev.MEDIUM, 2 * H, 24 * H),
    "carrier_miss": Policy("Carrier miss", Sev.HIGH, 2 * H, 24 * H),
    "pick_delay": Policy("Pick delay", Sev.HIGH, 30, 4 * H),
    "short_pick": Policy("Short pick", Sev.MEDIUM, 60, 8 * H, None),
    "pack_mismatch": Policy("Pack mismatch", Sev.LOW, 60, 8 * H, None),
    "low_stock": Policy("Low stock", Sev.LOW, 8 * H, 72 * H, None),
    "inventory_shortfall": Policy("Stock shortfall", Sev.HIGH, 60, 8 * H, None),
    "email_failed": Policy("E-mail failed", Sev.LOW, 4 * H, 24 * H, None),
    "webhook_disabled": Policy("Webhook disabled", Sev.HIGH, 60, 8 * H, None),
    "node_message_failed": Policy("Node message not delivered", Sev.HIGH, 60, 8 * H, None),
    "backorder_age": Policy("Backorder waiting too long", Sev.HIGH, 60, 24 * H),
    "unfulfillable_units": Policy("Units not allocated", Sev.MEDIUM, 2 * H, 48 * H),
}
FALLBACK = Policy("Exception", Sev.MEDIUM, 4 * H, 24 * H)


def policy_for(type: str) -> Policy:
    """Return the policy of `type`: its row if an operator set one, else the default."""
    row = ExceptionPolicy.objects.filter(type=type).first()
    if row is not None:
        return Policy(row.title, row.severity, row.first_touch_minutes, row.resolve_minutes, row.high_value)
    return DEFAULTS.get(type, FALLBACK)


def title_of(type: str) -> str:
    """A readable name for the type (the queue's subject line), without a query."""
    known = DEFAULTS.get(type)
    return known.title if known else type.replace("_", " ").capitalize()


def severity_for(policy: Policy, value: Decimal | None, floor: str | None = None) -> str:
    """The policy's severity, one step higher for a high-value order; never below `floor`
    (a raiser that knows the case is worse than usual)."""
    rank = ORDER.index(Sev(policy.severity))
    if value is not None and policy.high_value is not None and value >= policy.high_value:
        rank = min(rank + 1, len(ORDER) - 1)
    if floor is not None:
        rank = max(rank, ORDER.index(Sev(floor)))
    return ORDER[rank]


def due_times(policy: Policy, now: datetime) -> tuple[datetime, datetime]:
    return now + timedelta(minutes=policy.first_touch_minutes), now + timedelta(minutes=policy.resolve_minutes)
