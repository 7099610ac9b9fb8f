"""Requesting a return, the eligibility decision, authorization (with the return label or the
store's instructions), rejection and cancellation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django_fsm import TransitionNotAllowed

from fulfillment.carriers.adapters import adapter_for
from fulfillment.carriers.labels import LabelData
from fulfillment.carriers.models import CarrierService
from fulfillment.carriers.rates import DEFAULT_UNIT_WEIGHT_KG, Parcel, RateRequest
from oms.actors import Actor
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import return_payload
from orders.models import Order, OrderLine
from orders.services.holds import order_lock
from returns import eligibility, selectors
from returns.models import Acceptance, Receipt, Return, ReturnLine, ReturnReason, ReturnStatus, ReturnUnit
from returns.services.common import receiving_node, return_carrier, return_lock, settings_for
from returns.services.exchanges import exchange_advance_release, exchange_open
from returns.services.quotes import expected_quote
from returns.timeline import return_record, return_transition

LABEL_SALT = "returns.label"


@dataclass(frozen=True)
class LineIn:
    order_line: OrderLine
    quantity: int
    reason: ReturnReason
    condition: str
    note: str


def _lines(order: Order, lines: list[dict[str, Any]]) -> list[LineIn]:
    """Resolve the requested lines (by order-line id or SKU) and reasons; 400 naming each field."""
    known = list(order.lines.select_related("product"))
    reasons = {r.code: r for r in ReturnReason.objects.filter(merchant_id=order.merchant_id, active=True)}
    errors: list[FieldError] = []
    out: list[LineIn] = []
    for i, item in enumerate(lines):
        if item.get("line") is not None:
            match = [line for line in known if line.pk == item["line"]]
        else:
            match = [line for line in known if line.sku == item.get("sku")]
        if not match:
            errors.append(FieldError(f"lines[{i}]", "invalid", f"Not a line of order {order.number}."))
            continue
        reason = reasons.get(item["reason"])
        if reason is None:
            codes = ", ".join(sorted(reasons)) or "none configured"
            errors.append(FieldError(f"lines[{i}].reason", "invalid", f"Unknown reason code; one of {codes}."))
            continue
        out.append(LineIn(match[0], item["quantity"], reason, item.get("condition", ""), item.get("note", "")))
    seen = [line.order_line.pk for line in out]
    if len(seen) != len(set(seen)):
        errors.append(FieldError("lines", "duplicate", "Each order line at most once."))
    if errors:
        raise InvalidInput(errors)
    return out


def _verdicts(order: Order, lines: list[LineIn], now: datetime) -> list[list[eligibility.Verdict]]:
    delivered = selectors.delivered_at_by_line(order)
    returned = selectors.units_returned_or_pending(order)
    return [
        eligibility.evaluate(
            eligibility.LineRequest(
                order_line=line.order_line, quantity=line.quantity, condition=line.condition,
                delivered_at=delivered.get(line.order_line.pk), already_returned=returned.get(line.order_line.pk, 0),
                now=now,
            )
        )
        for line in lines
    ]  # fmt: skip


def return_request(
    *,
    order: Order,
    lines: list[dict[str, Any]],
    method: str,
    actor: Actor,
    node_code: str | None = None,
    exchange: dict[str, Any] | None = None,
) -> Return:
    """Open a return (with an exchange's replacement lines, if given): check each line, refuse
    (422, each reason named) what is not eligible, authorize at once what passes every check
    (when the merchant auto-authorizes), and leave the rest in `requested` for a CSR."""
    if method == Return.Method.IN_STORE and not node_code:
        raise InvalidInput([FieldError("node", "required", "An in-store return names the store.")])
    with transaction.atomic():
        order = order_lock(order)
        wanted = _lines(order, lines)
        verdicts = _verdicts(order, wanted, timezone.now())
        refused = [
            FieldError(f"lines[{i}]", "not_eligible", v.reason)
            for i, found in enumerate(verdicts)
            for v in found
            if v.outcome == Acceptance.REJECTED
        ]
        if refused:
            raise _NotEligible(refused)
        node = receiving_node(order.merchant_id, node_code if method == Return.Method.IN_STORE else None, field="node")
        sequence = Return.objects.filter(order=order).count() + 1
        rma = Return.objects.create(
            merchant_id=order.merchant_id, order=order, number=f"RMA-{order.number}-{sequence}", method=method,
            node=node, created_by=actor.label[:150],
        )  # fmt: skip
        review = False
        for line, found in zip(wanted, verdicts, strict=True):
            row = ReturnLine.objects.create(
                rma=rma, order_line=line.order_line, quantity=line.quantity, reason=line.reason,
                condition=line.condition, note=line.note,
            )  # fmt: skip
            outcome = Acceptance.MANUAL_REVIEW if found else Acceptance.ACCEPTED
            review = review or bool(found)
            ReturnUnit.objects.bulk_create(
                ReturnUnit(line=row, acceptance=outcome, acceptance_reason="; ".join(v.reason for v in found)[:300])
                for _ in range(line.quantity)
            )
        rma.order = order
        if exchange:
            exchange_open(rma=rma, data=exchange, expected=expected_quote(rma).total, actor=actor)
        _emit_requested(rma, actor)
        if not review and settings_for(order.merchant_id).auto_authorize:
            _authorize(rma, actor=actor, reason="Every line passed the eligibility checks")
    return rma


class _NotEligible(InvalidInput):
    """422: well-formed, but the checks refuse it (each line's reason named)."""

    status = 422
    code = "not_eligible"


def _emit_requested(rma: Return, actor: Actor) -> None:
    return_record(rma, "requested", actor=actor)
    emit("return.requested", subject=rma, merchant_id=rma.merchant_id, payload=return_payload(rma))


def label_url(rma: Return) -> str:
    token = signing.dumps(rma.pk, salt=LABEL_SALT)
    return f"{settings.OMS_PUBLIC_URL.rstrip('/')}/returns/labels/{token}/"


def label_for_token(token: str) -> Return | None:
    try:
        pk = signing.loads(token, salt=LABEL_SALT)
    except signing.BadSignature:
        return None
    return Return.objects.filter(pk=pk, label_pdf__isnull=False).first()


def _buy_label(rma: Return) -> None:
    """A real return label through the carrier adapter: customer -> receiving node."""
    carrier = return_carrier(rma.merchant_id)
    order = rma.order
    lines = list(rma.lines.select_related("order_line__product"))
    weight = sum(
        ((line.order_line.product.weight_kg or DEFAULT_UNIT_WEIGHT_KG) * line.quantity for line in lines), Decimal(0)
    )
    address = order.shipping_address or {}
    # Rate cards price node -> destination lanes; the return lane is the same lane reversed.
    request = RateRequest(origin=rma.node, destination=address, parcel=Parcel(weight_kg=weight))
    adapter = adapter_for(carrier)
    quotes = sorted(adapter.rate(carrier, request), key=lambda q: q.price)
    if not quotes:
        raise DomainError(f"{carrier.name} has no rate for this return lane.", field="method", code="no_return_rate")
    quote = quotes[0]
    service = CarrierService.objects.get(pk=quote.service_id)
    customer = [
        f"{address.get('first_name', '')} {address.get('last_name', '')}".strip() or order.customer_name,
        address.get("line1", ""),
        f"{address.get('city', '')} {address.get('region', '')} {address.get('postal_code', '')}".strip(),
        address.get("country", ""),
    ]
    node = rma.node
    data = LabelData(
        tracking_number="", carrier_name=carrier.name, service_name=service.name,
        ship_from=[part for part in customer if part],
        ship_to=[f"Returns - {node.name}", node.line1, f"{node.city} {node.region} {node.postal_code}".strip(),
                 node.country],
        weight_kg=f"{weight:.2f}", order_number=order.number, reference=rma.number, ship_date=quote.ship_date,
        lines=[(line.order_line.sku, line.order_line.name, line.quantity) for line in lines],
    )  # fmt: skip
    label = adapter.create_label(carrier, service, data, quote)
    rma.carrier = carrier
    rma.tracking_number = label.tracking_number
    rma.label_pdf = label.documents.label_pdf


def _authorize(rma: Return, *, actor: Actor, reason: str) -> None:
    extra: dict[str, Any] = {}
    if rma.method == Return.Method.SHIP_BACK:
        _buy_label(rma)
        extra["label_url"] = label_url(rma)
        extra["carrier"] = rma.carrier.code if rma.carrier else ""
    else:
        extra["instructions"] = settings_for(rma.merchant_id).store_instructions
    node = rma.node
    extra["return_address"] = {
        "company": node.name, "line1": node.line1, "city": node.city, "region": node.region,
        "postal_code": node.postal_code, "country": node.country,
    }  # fmt: skip
    ReturnUnit.objects.filter(line__rma=rma, acceptance=Acceptance.MANUAL_REVIEW).update(acceptance=Acceptance.ACCEPTED)
    return_transition(rma, "authorize", actor=actor, event_type="return.authorized", reason=reason, event_extra=extra)


def _locked(rma: Return) -> Return:
    order_lock(rma.order)
    return return_lock(rma)


def return_open(
    *,
    order: Order,
    lines: list[dict[str, Any]],
    method: str,
    actor: Actor,
    node_code: str | None = None,
    exchange: dict[str, Any] | None = None,
) -> Return:
    """Request a return (return_request); an advance exchange authorized at once is released."""
    rma = return_request(order=order, lines=lines, method=method, actor=actor, node_code=node_code, exchange=exchange)
    if rma.status == ReturnStatus.AUTHORIZED:
        exchange_advance_release(rma=rma, actor=actor)
    return rma


def return_authorize(*, rma: Return, actor: Actor, reason: str = "") -> Return:
    """A CSR authorizes a return waiting for review (its units in manual review are accepted);
    an advance exchange is then released."""
    rma = _authorize_reviewed(rma, actor, reason)
    exchange_advance_release(rma=rma, actor=actor)
    return rma


@transaction.atomic
def _authorize_reviewed(rma: Return, actor: Actor, reason: str) -> Return:
    rma = _locked(rma)
    try:
        _authorize(rma, actor=actor, reason=reason or "Authorized by a CSR")
    except TransitionNotAllowed:
        raise Conflict(f"Return {rma.number} is {rma.status}; only a requested return can be authorized.",
                       code="invalid_state") from None  # fmt: skip
    return rma


@transaction.atomic
def return_reject(*, rma: Return, actor: Actor, reason: str) -> Return:
    rma = _locked(rma)
    if rma.status != ReturnStatus.REQUESTED:
        raise Conflict(f"Return {rma.number} is {rma.status}; only a requested return can be rejected.",
                       code="invalid_state")  # fmt: skip
    ReturnUnit.objects.filter(line__rma=rma).update(acceptance=Acceptance.REJECTED, acceptance_reason=reason[:300])
    rma.decision_reason = reason
    return_transition(rma, "reject", actor=actor, event_type="return.rejected", reason=reason)
    return rma


@transaction.atomic
def return_cancel(*, rma: Return, actor: Actor, reason: str, receipt: str = Receipt.AWAITING) -> Return:
    """Cancel a return before anything arrived (the customer changed their mind, or it expired)."""
    rma = _locked(rma)
    try:
        return_transition(rma, "cancel", actor=actor, event_type=None, reason=reason)
    except TransitionNotAllowed:
        raise Conflict(f"Return {rma.number} is {rma.status}; it can no longer be cancelled.",
                       code="invalid_state") from None  # fmt: skip
    if receipt != Receipt.AWAITING:
        ReturnUnit.objects.filter(line__rma=rma, receipt=Receipt.AWAITING).update(receipt=receipt)
    return rma
