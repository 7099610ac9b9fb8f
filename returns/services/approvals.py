"""Who may approve how much: a CSR up to the CSR limit, a CSR lead up to the lead's limit,
Finance above (limits per merchant in ReturnSettings; groups in oms/permissions.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from oms.errors import DomainError
from returns.models import ApprovalLevel
from returns.services.common import settings_for

RANK = {ApprovalLevel.CSR: 0, ApprovalLevel.LEAD: 1, ApprovalLevel.FINANCE: 2}


class BeyondLimit(DomainError):
    status = 403
    code = "approval_limit"


def level_for(merchant_id: int, amount: Decimal) -> str:
    """The level an amount needs."""
    policy = settings_for(merchant_id)
    if amount <= policy.csr_limit:
        return ApprovalLevel.CSR
    if amount <= policy.lead_limit:
        return ApprovalLevel.LEAD
    return ApprovalLevel.FINANCE


def authority_of(user: Any) -> str | None:
    """The highest level an admin user may approve (None: may not approve at all)."""
    if user.has_perm("returns.approve_any_amount"):
        return ApprovalLevel.FINANCE
    if user.has_perm("returns.approve_up_to_lead_limit"):
        return ApprovalLevel.LEAD
    if user.has_perm("returns.change_appeasement"):
        return ApprovalLevel.CSR
    return None


# A merchant's API key acts as its customer-service tool: a CSR's authority.
API_AUTHORITY = ApprovalLevel.CSR


def may_approve(authority: str | None, level: str) -> bool:
    return authority is not None and RANK[authority] >= RANK[level]


def approval_check(authority: str | None, level: str, what: str) -> None:
    if not may_approve(authority, level):
        label = ApprovalLevel(level).label
        raise BeyondLimit(f"{what} needs approval by {label}.", field="amount")
