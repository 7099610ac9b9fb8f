"""Demo returns: the policy (reason codes, return settings, a putaway rule) and, on a delivered
order, a return, a claim and an appeasement waiting for approval."""

from __future__ import annotations

from decimal import Decimal

from oms.actors import Actor
from oms.models import Merchant
from orders.models import Order, OrderStatus
from returns.models import Claim, Disposition, Grade, PutawayRule, Return, ReturnReason, ReturnSettings
from returns.services.goodwill import appeasement_create, claim_create
from returns.services.requests import return_request

REASONS = [
    ("changed_mind", "Changed my mind", Decimal("10"), False),
    ("wrong_size", "Wrong size", Decimal("0"), False),
    ("defective", "Defective or damaged", Decimal("0"), False),
    ("wrong_item", "We sent the wrong item", Decimal("0"), True),
    ("not_as_described", "Not as described", Decimal("0"), False),
]


def seed_returns(merchant: Merchant) -> None:
    for code, label, fee, wrong in REASONS:
        ReturnReason.objects.get_or_create(
            merchant=merchant, code=code,
            defaults={"label": label, "restocking_fee_percent": fee, "wrong_item": wrong},
        )  # fmt: skip
    ReturnSettings.objects.get_or_create(merchant=merchant, defaults={"advance_exchange": True})
    PutawayRule.objects.get_or_create(merchant=merchant, grade=Grade.DEFECTIVE, node=None,
                                      defaults={"disposition": Disposition.RETURN_TO_VENDOR})  # fmt: skip


def seed_return_activity(merchant: Merchant) -> None:
    """On the first delivered order: a return with its label, a claim for a CSR and an
    appeasement above the CSR's limit in the approval queue (once)."""
    if Return.objects.filter(order__merchant=merchant).exists():
        return
    order = Order.objects.filter(merchant=merchant, status=OrderStatus.DELIVERED).order_by("pk").first()
    line = order.lines.filter(qty_delivered__gt=0).order_by("position").first() if order else None
    if line is None:
        return
    actor = Actor.system("seed_demo")
    unit = [{"line": line.pk, "quantity": 1}]
    return_request(order=order, lines=[{**unit[0], "reason": "wrong_size"}], method="ship_back", actor=actor)
    claim_create(order=order, kind=Claim.Kind.DAMAGED_IN_TRANSIT, resolution=Claim.Resolution.REFUND, lines=unit,
                 reason="The box arrived crushed.", actor=actor)  # fmt: skip
    appeasement_create(order=order, amount=Decimal("150.00"), reason="Delivered a week late.", actor=actor,
                       authority=None)  # fmt: skip
