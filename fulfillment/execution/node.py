"""What a node does with a fulfilment order: accept, reject, pick (short), pack with scan
verification, and confirm a cancellation asked after the pick."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from fulfillment.execution.common import (
    fo_transition,
    guard_node_action,
    lock,
    reservation_ref,
)
from fulfillment.models import AFTER_PICK, FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from inventory.models import StockLevel
from inventory.services.stock import StockLine, stock_adjust, stock_unreserve
from oms.actors import Actor
from oms.alerts import exception_raise, exceptions_close_for
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import fulfillment_order_payload
from orders.services.cancel import order_cancel
from orders.services.quantities import order_lines_unallocate

PACK_MISMATCH = "pack_mismatch"
SHORT_PICK = "short_pick"


@transaction.atomic
def fulfillment_order_accept(*, fulfillment_order: FulfillmentOrder, actor: Actor) -> FulfillmentOrder:
    order, fo, _ = lock(fulfillment_order)
    guard_node_action(order)
    fo_transition(fo, "accept", actor=actor, event_type="fulfillment_order.accepted")
    return fo


def _release_units(
    fo: FulfillmentOrder,
    units: dict[FulfillmentOrderLine, int],
    *,
    actor: Actor,
    reason: str,
    picked: bool = False,
    backorder: bool = False,
) -> None:
    """Give up units of these lines at this node: the reservation goes, the order line loses them
    (`backorder`: to routing). `picked`: the units were picked and are back on the shelf."""
    lines = [StockLine(line.order_line.product_id, fo.node_id, qty) for line, qty in units.items() if qty]
    if lines:
        stock_unreserve(reference=reservation_ref(fo), actor=actor, lines=lines, reason=reason)
    for line, qty in units.items():
        line.qty_cancelled += qty
        if picked:
            line.qty_picked = max(line.qty_picked - qty, 0)
        line.save(update_fields=["qty_cancelled", "qty_picked"])
    order_lines_unallocate(units={line.order_line_id: qty for line, qty in units.items()}, backorder=backorder)


def _back_to_routing(
    fo: FulfillmentOrder, units: dict[FulfillmentOrderLine, int], *, actor: Actor, reason: str
) -> None:
    """Hand units this node cannot fulfil back to routing (a rejection or a short pick)."""
    _release_units(fo, units, actor=actor, reason=reason, backorder=True)
    emit(
        "fulfillment_order.unfulfillable",
        subject=fo,
        merchant_id=fo.order.merchant_id,
        payload=fulfillment_order_payload(
            fo,
            reason=reason,
            lines=[
                {"order_line": line.order_line_id, "sku": line.order_line.sku, "quantity": qty}
                for line, qty in units.items()
                if qty
            ],
        ),  # fmt: skip
    )


@transaction.atomic
def fulfillment_order_reject(*, fulfillment_order: FulfillmentOrder, reason: str, actor: Actor) -> FulfillmentOrder:
    """The node cannot fulfil it: everything open goes back to routing for another node."""
    order, fo, lines = lock(fulfillment_order)
    guard_node_action(order)
    fo.rejection_reason = reason
    fo_transition(fo, "reject", actor=actor, reason=reason, event_type="fulfillment_order.rejected")
    _back_to_routing(
        fo, {line: line.qty_open for line in lines}, actor=actor, reason=f"Rejected by {fo.node}: {reason}"
    )
    return fo


def _picked_quantities(lines: list[FulfillmentOrderLine], asked: list[dict[str, int]] | None) -> dict[int, int]:
    by_id = {line.pk: line for line in lines}
    if asked is None:
        return {line.pk: line.qty_open for line in lines}
    errors = []
    picked = {line.pk: line.qty_open for line in lines}
    for i, item in enumerate(asked):
        line = by_id.get(item["line"])
        if line is None:
            errors.append(
                FieldError(f"lines[{i}].line", "invalid", f"Line {item['line']} is not on this fulfilment order.")
            )
        elif item["picked"] > line.qty_open:
            errors.append(
                FieldError(f"lines[{i}].picked", "max_value", f"Line {line.pk} has {line.qty_open} unit(s) to pick.")
            )
        else:
            picked[line.pk] = item["picked"]
    if errors:
        raise InvalidInput(errors)
    return picked


@transaction.atomic
def fulfillment_order_pick(
    *, fulfillment_order: FulfillmentOrder, actor: Actor, lines: list[dict[str, int]] | None = None
) -> FulfillmentOrder:
    """The pick is complete. Lines named with fewer units are short: those go back to routing."""
    order, fo, fo_lines = lock(fulfillment_order)
    guard_node_action(order)
    picked = _picked_quantities(fo_lines, lines)
    short = {line: line.qty_open - picked[line.pk] for line in fo_lines if line.qty_open > picked[line.pk]}
    for line in fo_lines:
        line.qty_picked = picked[line.pk]
        line.save(update_fields=["qty_picked"])
    reason = "Nothing picked"
    if short:
        described = ", ".join(f"{qty} × {line.order_line.sku}" for line, qty in short.items())
        reason = f"Short pick at {fo.node}: {described} not found"
        exception_raise(type=SHORT_PICK, subject=fo, message=f"{reason}; count the location.", merchant=order.merchant)
    if not any(picked.values()):
        fo_transition(fo, "cancel", actor=actor, reason=reason, event_type="fulfillment_order.cancelled")
    else:
        fo_transition(fo, "pick", actor=actor, payload={"short": {str(k.pk): v for k, v in short.items()}},
                      event_type="fulfillment_order.picked")  # fmt: skip
    if short:
        _back_to_routing(fo, short, actor=actor, reason=reason)
        # The picker did not find them: the node's stock says otherwise until someone counts, and
        # routing would send the same units straight back here.
        for line, qty in short.items():
            product = line.order_line.product
            on_hand = StockLevel.objects.filter(product=product, node=fo.node).values_list("on_hand", flat=True)
            take = min(qty, next(iter(on_hand), 0))
            if take > 0:
                stock_adjust(product=product, node=fo.node, quantity=-take, actor=actor, reason=reason,
                             reference=reservation_ref(fo))  # fmt: skip
    return fo


@dataclass(frozen=True)
class ScanCheck:
    ok: bool
    message: str


def scan_check(lines: list[FulfillmentOrderLine], scans: list[str]) -> ScanCheck:
    """Compare the scanned barcodes with what should be in the parcel, naming every difference."""
    expected: Counter[int] = Counter({line.pk: line.qty_to_ship for line in lines if line.qty_to_ship})
    by_code: dict[str, FulfillmentOrderLine] = {}
    for line in lines:
        for code in line.order_line.product.all_barcodes:
            by_code.setdefault(code.strip(), line)
    scanned: Counter[int] = Counter()
    unknown: Counter[str] = Counter()
    for raw in scans:
        code = raw.strip()
        line = by_code.get(code)
        if line is None:
            unknown[code] += 1
        else:
            scanned[line.pk] += 1
    problems = []
    for line in lines:
        want, got = expected[line.pk], scanned[line.pk]
        code = line.order_line.product.barcode or line.order_line.sku
        if got == want:
            continue
        if got == 0:
            problems.append(f"missing {want} × {code}")
        else:
            problems.append(f"scanned {got} × {code}, expected {want}")
    problems += [f"scanned {n} × {code}, expected 0 (not in this order)" for code, n in unknown.items()]
    return ScanCheck(not problems, "; ".join(problems))


@transaction.atomic
def _pack(fo: FulfillmentOrder, scans: list[str], actor: Actor, rejected: list[str]) -> ScanCheck:
    order, fo, lines = lock(fo)
    guard_node_action(order)
    if fo.status != FulfillmentStatus.PICKED:
        raise Conflict(f"Fulfilment order {fo.pk} is {fo.status}; only a picked one is packed.", code="invalid_state")
    check = scan_check(lines, scans)
    fo.pack_attempts += 1
    if not check.ok:
        fo.save(update_fields=["pack_attempts", "updated_at"])
        exception_raise(
            type=PACK_MISMATCH,
            subject=fo,
            message=f"Packing {fo} did not match: {check.message}. The packer rescans.",
            merchant=order.merchant,
        )
        return check
    fo.pack_corrected = fo.pack_attempts > 1 or bool(rejected)
    payload = {"attempts": fo.pack_attempts, "corrected": fo.pack_corrected}
    if rejected:
        payload["rejected_scans"] = rejected
    fo_transition(fo, "pack", actor=actor, payload=payload, event_type="fulfillment_order.packed")
    exceptions_close_for(subject=fo, type=PACK_MISMATCH, actor=actor, note="Rescanned and packed")
    if fo.is_pickup:
        from fulfillment.execution.pickup import ready_for_pickup

        ready_for_pickup(order, fo, actor=actor)
    return check


def fulfillment_order_pack(
    *, fulfillment_order: FulfillmentOrder, scans: list[str], actor: Actor, rejected: list[str] | None = None
) -> FulfillmentOrder:
    """Pack after verifying every scanned unit. A mismatch is recorded (attempt, exception) and
    refused with the difference named; the packer rescans. `rejected`: scans the packing screen
    already refused at the bench (they count as a corrected pack)."""
    check = _pack(fulfillment_order, scans, actor, rejected or [])
    if not check.ok:
        raise DomainError(f"Scans do not match the order: {check.message}.", field="scans", code="scan_mismatch")
    return FulfillmentOrder.objects.select_related("order", "node").get(pk=fulfillment_order.pk)


def cancel_request(fo: FulfillmentOrder, units: dict[FulfillmentOrderLine, int], *, reason: str, actor: Actor) -> None:
    """Ask the node to put picked units back (the order cancellation waits for its answer)."""
    request = dict(fo.cancel_request or {})
    asked = dict(request.get("lines", {}))
    for line, qty in units.items():
        asked[str(line.pk)] = asked.get(str(line.pk), 0) + qty
    fo.cancel_request = {"reason": reason, "lines": asked}
    fo.cancel_requested_at = fo.cancel_requested_at or timezone.now()
    fo.save(update_fields=["cancel_request", "cancel_requested_at", "updated_at"])
    emit(
        "fulfillment_order.cancel_requested",
        subject=fo,
        merchant_id=fo.order.merchant_id,
        payload=fulfillment_order_payload(fo, reason=reason, lines=asked),
    )


def cancel_units(fo: FulfillmentOrder, units: dict[FulfillmentOrderLine, int], *, reason: str, actor: Actor) -> None:
    """Cancel units at this node now (releasing their stock); close the order when nothing is left."""
    _release_units(fo, units, actor=actor, reason=reason, picked=fo.status in AFTER_PICK)
    if all(line.qty_open == 0 for line in fo.lines.all()) and not fo.shipments.exists():
        fo_transition(fo, "cancel", actor=actor, reason=reason, event_type="fulfillment_order.cancelled")


@transaction.atomic
def fulfillment_order_cancel_confirm(*, fulfillment_order: FulfillmentOrder, actor: Actor) -> FulfillmentOrder:
    """The node put the picked units back: cancel them here, then on the order."""
    order, fo, lines = lock(fulfillment_order)
    guard_node_action(order)
    if fo.cancel_requested_at is None:
        raise Conflict(f"No cancellation is pending on fulfilment order {fo.pk}.", code="invalid_state")
    request = fo.cancel_request or {}
    by_id = {line.pk: line for line in lines}
    units = {by_id[int(pk)]: min(qty, by_id[int(pk)].qty_open) for pk, qty in request.get("lines", {}).items()}
    reason = request.get("reason") or "cancelled"
    fo.cancel_request, fo.cancel_requested_at = {}, None
    fo.save(update_fields=["cancel_request", "cancel_requested_at", "updated_at"])
    cancel_units(fo, units, reason=reason, actor=actor)
    order_units = [{"line": line.order_line_id, "quantity": qty} for line, qty in units.items() if qty]
    if order_units:
        order_cancel(order=order, actor=actor, reason=f"{reason} (confirmed by {fo.node})", lines=order_units)
    fo.refresh_from_db()
    return fo
