"""Demo returns policy: reason codes, return settings and a putaway rule for the demo merchant."""

from __future__ import annotations

from decimal import Decimal

from oms.models import Merchant
from returns.models import Disposition, Grade, PutawayRule, ReturnReason, ReturnSettings

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
