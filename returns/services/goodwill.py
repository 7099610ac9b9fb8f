"""Money without a return: appeasements (goodwill) and claims (damaged in transit, missing or
wrong item: a refund or a free replacement). Both are approved by amount (approvals.py) and
refund through the orders refund service, once per appeasement or claim however often asked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from oms.actors import Actor
from oms.errors import Conflict, FieldError, InvalidInput
from oms.money import money_text
from oms.outbox import emit
from oms.payloads import appeasement_payload, claim_payload
from orders.models import Order
from orders.payments.services import refund_issue
from orders.services.timeline import record
from returns.models import Appeasement, Approval, Claim
from returns.services.approvals import approval_check, level_for, may_approve
from returns.services.common import cents
from returns.services.quotes import refund_quote
from returns.services.refunds import source_of
from returns.services.replacements import replacement_capture


def _decide(model: type[Any], pk: int, status: str, actor: Actor, **fields: Any) -> bool:
    """Compare-and-set pending -> status: False when someone else decided first."""
    return bool(
        model.objects.filter(pk=pk, status=Approval.PENDING).update(
            status=status, decided_by=actor.label[:150], decided_at=timezone.now(), **fields
        )
    )


# Appeasements.


def appeasement_create(
    *, order: Order, amount: Decimal, reason: str, actor: Actor, authority: str | None
) -> Appeasement:
    """Record an appeasement; issue it at once when the caller's authority covers the amount,
    else it waits in the approval queue for a CSR lead or Finance."""
    appeasement = Appeasement.objects.create(
        merchant_id=order.merchant_id, order=order, amount=amount, reason=reason,
        level=level_for(order.merchant_id, amount), created_by=actor.label[:150],
    )  # fmt: skip
    record(order, "appeasement_requested", actor=actor, reason=reason, payload={"amount": str(amount)})
    if may_approve(authority, appeasement.level):
        appeasement_approve(appeasement=appeasement, actor=actor, authority=authority)
        appeasement.refresh_from_db()
    return appeasement


def appeasement_approve(*, appeasement: Appeasement, actor: Actor, authority: str | None) -> Appeasement:
    """Approve and refund (to the original tenders). Call outside a transaction."""
    approval_check(
        authority, appeasement.level, f"An appeasement of {money_text(appeasement.amount, appeasement.order.currency)}"
    )
    if appeasement.status != Approval.PENDING:
        raise Conflict(f"Appeasement {appeasement.pk} is {appeasement.status}.", code="invalid_state")
    refund = refund_issue(order=appeasement.order, amount=appeasement.amount, actor=actor,
                          reason=f"Appeasement: {appeasement.reason}", source=source_of(appeasement))  # fmt: skip
    with transaction.atomic():
        if _decide(Appeasement, appeasement.pk, Approval.APPROVED, actor, refund=refund):
            order = appeasement.order
            amount = cents(appeasement.amount, order.currency)
            payload = appeasement_payload(appeasement, amount=amount, refund=refund)
            emit("return.appeasement_issued", subject=appeasement, merchant_id=order.merchant_id, payload=payload)
    return Appeasement.objects.get(pk=appeasement.pk)


def _reject(model: type[Any], obj: Any, actor: Actor, reason: str, label: str) -> None:
    if not _decide(model, obj.pk, Approval.REJECTED, actor):
        raise Conflict(f"{label} {obj.pk} was already decided.", code="invalid_state")
    record(obj.order, f"{label.lower()}_rejected", actor=actor, reason=reason)


def appeasement_reject(*, appeasement: Appeasement, actor: Actor, reason: str) -> None:
    _reject(Appeasement, appeasement, actor, reason, "Appeasement")


# Claims.


def _claim_lines(order: Order, lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    known = list(order.lines.all())
    errors: list[FieldError] = []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(lines):
        match = [line for line in known if line.pk == item.get("line") or line.sku == item.get("sku")]
        if not match:
            errors.append(FieldError(f"lines[{i}]", "invalid", f"Not a line of order {order.number}."))
        elif item["quantity"] > match[0].qty_shipped:
            errors.append(FieldError(f"lines[{i}].quantity", "max_value",
                                     f"{match[0].sku}: {match[0].qty_shipped} unit(s) shipped."))  # fmt: skip
        else:
            out.append({"line": match[0].pk, "sku": match[0].sku, "quantity": item["quantity"],
                        "unit_price": str(match[0].unit_price)})  # fmt: skip
    if errors:
        raise InvalidInput(errors)
    return out


def claim_create(
    *, order: Order, kind: str, resolution: str, lines: list[dict[str, Any]], reason: str, actor: Actor
) -> Claim:
    """Record a claim for a CSR to approve; its value (what the units cost the customer, with
    tax and their share of shipping) sets the approval level."""
    detail = _claim_lines(order, lines)
    value = refund_quote(order, {item["line"]: item["quantity"] for item in detail}).total
    claim = Claim.objects.create(
        merchant_id=order.merchant_id, order=order, kind=kind, resolution=resolution, reason=reason, lines=detail,
        amount=value, level=level_for(order.merchant_id, value), created_by=actor.label[:150],
    )  # fmt: skip
    record(order, "claim_opened", actor=actor, reason=reason, payload={"claim": claim.pk, "kind": kind})
    return claim


def claim_approve(*, claim: Claim, actor: Actor, authority: str | None) -> Claim:
    """Approve: refund the claimed units' value, or send them again free of charge as a
    replacement order (captured and routed like any order). Call outside a transaction."""
    approval_check(authority, claim.level, f"A claim worth {money_text(claim.amount, claim.order.currency)}")
    if claim.status != Approval.PENDING:
        raise Conflict(f"Claim {claim.pk} is {claim.status}.", code="invalid_state")
    fields: dict[str, Any] = {}
    if claim.resolution == Claim.Resolution.REFUND:
        quote = refund_quote(claim.order, {item["line"]: item["quantity"] for item in claim.lines})
        fields["refund"] = refund_issue(
            order=claim.order, amount=claim.amount, reason=f"Claim ({claim.get_kind_display()}): {claim.reason}",
            actor=actor, lines=[{"line": item["line"], "quantity": item["quantity"]} for item in claim.lines],
            source=source_of(claim), tax=quote.tax + quote.shipping_tax,
        )  # fmt: skip
    else:
        free = [{"sku": item["sku"], "quantity": item["quantity"], "unit_price": "0"} for item in claim.lines]
        fields["replacement_order"] = replacement_capture(
            original=claim.order, external_id=f"CLAIM-{claim.pk}", lines=free, payments=[],
            note=f"Free replacement for claim {claim.pk} ({claim.get_kind_display()}) on order {claim.order.number}",
            actor=actor,
        )  # fmt: skip
    with transaction.atomic():
        if _decide(Claim, claim.pk, Approval.APPROVED, actor, **fields):
            emit(
                "claim.approved",
                subject=claim,
                merchant_id=claim.merchant_id,
                payload=claim_payload(
                    claim,
                    amount=cents(claim.amount, claim.order.currency),
                    refund=fields.get("refund"),
                    replacement=fields.get("replacement_order"),
                ),
            )
    return Claim.objects.get(pk=claim.pk)


def claim_reject(*, claim: Claim, actor: Actor, reason: str) -> None:
    _reject(Claim, claim, actor, reason, "Claim")
