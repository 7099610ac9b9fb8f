"""The parcel on its way (carrier events on the return label), the receiving scan at the node,
inspection with grades, and putaway by the merchant's rules."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from fulfillment.carriers.models import Carrier, Milestone
from inventory.models import Movement, Node, Product
from inventory.services.stock import stock_receive
from oms.actors import Actor
from oms.errors import Conflict, FieldError, InvalidInput
from oms.refs import Ref
from orders.services.holds import order_lock
from orders.services.quantities import order_lines_return
from returns.models import (
    RESTOCKING,
    Acceptance,
    Disposition,
    Grade,
    PutawayRule,
    Receipt,
    Return,
    ReturnStatus,
    ReturnUnit,
)
from returns.services.common import SYSTEM, return_lock, settings_for
from returns.services.requests import return_cancel
from returns.timeline import return_record, return_transition

# Carrier milestones that move a return forward (only the receiving scan sets `received`).
IN_TRANSIT = {Milestone.CARRIER_PICKUP, Milestone.IN_TRANSIT, Milestone.OUT_FOR_DELIVERY}


def on_tracking_event(carrier: Carrier, data: dict[str, Any], milestone: str) -> bool:
    """Tracking hook (registered in ReturnsConfig.ready()): a carrier event on a return label."""
    found = Return.objects.filter(carrier=carrier, tracking_number=data["tracking_number"]).first()
    if found is None:
        return False
    order_lock(found.order)
    rma = return_lock(found)
    where = f"{carrier.name}: {data['status']}" + (f" at {data['location']}" if data.get("location") else "")
    if milestone in IN_TRANSIT and rma.status == ReturnStatus.AUTHORIZED:
        return_transition(rma, "ship", actor=SYSTEM, event_type=None, reason=where)
    elif milestone == Milestone.DELIVERED and rma.status in (ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT):
        return_transition(rma, "arrive", actor=SYSTEM, event_type=None, reason=where)
    else:
        return_record(rma, "carrier_event", actor=SYSTEM, reason=where, payload={"milestone": milestone})
    return True


def _locked(rma: Return) -> Return:
    order_lock(rma.order)
    return return_lock(rma)


def _check_node(rma: Return, node: Node | None) -> None:
    if node is not None and node.pk != rma.node_id:
        raise Conflict(f"Return {rma.number} is received at {rma.node.code}, not {node.code}.", field="node",
                       code="wrong_node")  # fmt: skip


def _barcodes(merchant_id: int) -> dict[str, Product]:
    out: dict[str, Product] = {}
    for product in Product.objects.filter(merchant_id=merchant_id).only("sku", "barcode", "barcodes"):
        for code in [*product.all_barcodes, product.sku]:
            out.setdefault(code, product)
    return out


@transaction.atomic
def return_receive(*, rma: Return, scans: list[str], actor: Actor, node: Node | None = None) -> Return:
    """Count the parcel in, one scan per unit (barcode or SKU), as the pack screen does.

    A scan of an expected product receives one of its units; a scan of another of the
    merchant's products marks one still-awaited unit `wrong_item` (what came instead is kept);
    units not scanned are `short_shipped`. Unknown barcodes are refused (400) before anything
    changes. Received units are counted as returned on the order line.
    """
    rma = _locked(rma)
    _check_node(rma, node)
    if rma.status not in (ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT, ReturnStatus.ARRIVED):
        raise Conflict(f"Return {rma.number} is {rma.status}; only an authorized return can be received.",
                       code="invalid_state")  # fmt: skip
    catalogue = _barcodes(rma.merchant_id)
    unknown = [FieldError(f"scans[{i}]", "unknown_barcode", f"'{code}' is none of your products.")
               for i, code in enumerate(scans) if code not in catalogue]  # fmt: skip
    if unknown:
        raise InvalidInput(unknown)
    units = list(
        ReturnUnit.objects.select_for_update(of=("self",))
        .filter(line__rma=rma, receipt=Receipt.AWAITING)
        .select_related("line__order_line")
        .order_by("pk")
    )
    now = timezone.now()
    extra: list[str] = []
    for code in scans:
        product = catalogue[code]
        unit = next((u for u in units if u.receipt == Receipt.AWAITING and u.line.order_line.product_id == product.pk),
                    None)  # fmt: skip
        if unit is None:
            extra.append(product.sku)
            continue
        unit.receipt, unit.received_at = Receipt.RECEIVED, now
    for sku in extra:
        unit = next((u for u in units if u.receipt == Receipt.AWAITING), None)
        if unit is None:
            break
        unit.receipt, unit.scanned_sku, unit.received_at = Receipt.WRONG_ITEM, sku, now
    for unit in units:
        if unit.receipt == Receipt.AWAITING:
            unit.receipt = Receipt.SHORT_SHIPPED
    ReturnUnit.objects.bulk_update(units, ["receipt", "scanned_sku", "received_at"])
    received = Counter(u.line.order_line_id for u in units if u.receipt == Receipt.RECEIVED)
    order_lines_return(units=dict(received))
    outcome = Counter(u.receipt for u in units)
    return_transition(
        rma, "receive", actor=actor, event_type="return.received",
        reason=", ".join(f"{n} {k}" for k, n in sorted(outcome.items())), payload={"scans": scans},
        event_extra={"receipt": dict(outcome)},
    )  # fmt: skip
    return rma


def putaway_rule(merchant_id: int, grade: str, node: Node) -> PutawayRule:
    """The node's own rule, else the merchant's rule for any node, else the default: resellable
    units back to this node's ATP, everything else quarantined."""
    rules = {r.node_id: r for r in PutawayRule.objects.filter(merchant_id=merchant_id, grade=grade)}
    found = rules.get(node.pk) or rules.get(None)
    if found is not None:
        return found
    default = Disposition.RESTOCK if grade == Grade.RESELLABLE else Disposition.QUARANTINE
    return PutawayRule(merchant_id=merchant_id, grade=grade, disposition=default)


def _put_away(rma: Return, unit: ReturnUnit, actor: Actor) -> None:
    rule = putaway_rule(rma.merchant_id, unit.grade, rma.node)
    disposition = rule.disposition
    # Inventory is revalidated before resale: whatever a rule says, only resellable units restock.
    if disposition in RESTOCKING and unit.grade != Grade.RESELLABLE:
        disposition = Disposition.QUARANTINE
    node = rule.target_node if disposition == Disposition.RESTOCK_ELSEWHERE else rma.node
    unit.disposition, unit.disposition_node = disposition, node
    if disposition in RESTOCKING:
        stock_receive(
            product=unit.line.order_line.product, node=node, quantity=1, actor=actor, reference=Ref.to(rma),
            reason=f"Return {rma.number} ({unit.grade})", kind=Movement.Kind.RETURN_RESTOCK,
        )  # fmt: skip


@transaction.atomic
def return_inspect(*, rma: Return, grades: list[dict[str, Any]], actor: Actor, node: Node | None = None) -> Return:
    """Grade every received unit, decide its acceptance and put it away.

    `grades`: [{unit, grade, accept (default true), note}]; every received unit needs one. Only
    `resellable` units go back to ATP (a ledger movement referencing the return, which emits
    inventory.received so backorders fill); the rest go where the putaway rules send them.
    """
    rma = _locked(rma)
    _check_node(rma, node)
    if rma.status != ReturnStatus.RECEIVED:
        raise Conflict(f"Return {rma.number} is {rma.status}; only a received return can be inspected.",
                       code="invalid_state")  # fmt: skip
    units = {
        u.pk: u
        for u in ReturnUnit.objects.select_for_update(of=("self",))
        .filter(line__rma=rma, receipt=Receipt.RECEIVED)
        .select_related("line__order_line__product")
    }
    errors = [FieldError(f"grades[{i}].unit", "invalid", f"Unit {g['unit']} is no received unit of {rma.number}.")
              for i, g in enumerate(grades) if g["unit"] not in units]  # fmt: skip
    missing = sorted(set(units) - {g["unit"] for g in grades})
    if missing:
        errors.append(FieldError("grades", "required", f"Grade every received unit; missing: {missing}."))
    if errors:
        raise InvalidInput(errors)
    now = timezone.now()
    for item in grades:
        unit = units[item["unit"]]
        unit.grade, unit.inspected_at = item["grade"], now
        if not item.get("accept", True):
            unit.acceptance, unit.acceptance_reason = (
                Acceptance.REJECTED,
                (item.get("note") or "Refused at inspection")[:300],
            )
        _put_away(rma, unit, actor)
    ReturnUnit.objects.bulk_update(
        list(units.values()), ["grade", "inspected_at", "acceptance", "acceptance_reason", "disposition",
                               "disposition_node"]
    )  # fmt: skip
    summary = Counter(f"{u.grade}->{u.disposition}" for u in units.values())
    return_transition(
        rma, "inspect", actor=actor, event_type="return.inspected",
        reason=", ".join(f"{n} {k}" for k, n in sorted(summary.items())), event_extra={"putaway": dict(summary)},
    )  # fmt: skip
    return rma


def returns_expire_due(*, now: datetime | None = None) -> int:
    """Beat job: an authorized return whose parcel never arrived within the merchant's expiry
    closes (its units `expired`), so the customer's units count as not returned."""
    now = now or timezone.now()
    expired = 0
    candidates = Return.objects.filter(
        status__in=[ReturnStatus.AUTHORIZED, ReturnStatus.IN_TRANSIT], method=Return.Method.SHIP_BACK
    ).values_list("pk", "merchant_id", "status_changed_at")
    for pk, merchant_id, since in list(candidates[:1000]):
        days = settings_for(merchant_id).ship_back_expiry_days
        if since and since + timedelta(days=days) <= now:
            rma = Return.objects.select_related("order").get(pk=pk)
            try:
                return_cancel(rma=rma, actor=SYSTEM, reason=f"Nothing arrived within {days} days",
                              receipt=Receipt.EXPIRED)  # fmt: skip
            except Conflict:
                continue
            expired += 1
    return expired
