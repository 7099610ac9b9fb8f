"""What every fulfilment service shares: locks in one order, the hold guard, the timeline row
of a fulfilment-order transition, the reservation reference, settings and payment captures."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import F
from django.utils import timezone

from fulfillment.execution.models import FulfillmentSettings, NodeProfile
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from inventory.models import Node
from inventory.services.stock import StockLine, stock_consume
from oms.actors import Actor
from oms.caches import ProcessCache
from oms.errors import Conflict
from oms.refs import Ref
from orders.models import Order, OrderLine, OrderStatus, Payment
from orders.payments.executor import Outcome
from orders.payments.models import PaymentTransaction
from orders.payments.services import line_value, order_amount_due, payment_capture, payment_settings_for
from orders.services.holds import order_lock
from orders.services.timeline import Pending, timeline_entry

SYSTEM = Actor.system("fulfilment")


def _fulfillment_settings(merchant_id: int) -> FulfillmentSettings:
    found = FulfillmentSettings.objects.filter(merchant_id=merchant_id).first()
    return found or FulfillmentSettings(merchant_id=merchant_id)


# Per process: read by every release, changed rarely (oms.caches).
_SETTINGS = ProcessCache("fulfillment.settings", _fulfillment_settings, invalidated_by=(FulfillmentSettings,))


def settings_for(merchant_id: int) -> FulfillmentSettings:
    return _SETTINGS.get(merchant_id)


def capture_timing(merchant_id: int) -> str:
    """The merchant's capture timing, as orders.payments keeps it (its one reader)."""
    return payment_settings_for(merchant_id).capture_timing


def profile_for(node: Node) -> NodeProfile:
    found = NodeProfile.objects.filter(node=node).first()
    return found or NodeProfile(node=node)


def reservation_ref(fo: FulfillmentOrder) -> Ref:
    """The reference the stock for this fulfilment order is reserved under (set by routing)."""
    return Ref.to(fo)


def lock(fo: FulfillmentOrder) -> tuple[Order, FulfillmentOrder, list[FulfillmentOrderLine]]:
    """Lock the order, then the fulfilment order, then its lines: the one order every service uses."""
    order = order_lock(fo.order)
    fo = FulfillmentOrder.objects.select_for_update(of=("self",)).select_related("node").get(pk=fo.pk)
    fo.order = order
    lines = list(
        FulfillmentOrderLine.objects.select_for_update(of=("self",))
        .filter(fulfillment_order=fo)
        .select_related("order_line__product")
        .order_by("order_line__position", "pk")
    )
    return order, fo, lines


def guard_node_action(order: Order) -> None:
    """While the order is on hold a node may not move its work on (HTTP 409)."""
    if order.status == OrderStatus.ON_HOLD:
        reasons = "; ".join(order.holds.filter(resolved_at__isnull=True).values_list("reason", flat=True))
        raise Conflict(f"Order {order.number} is on hold ({reasons}); wait until it is resolved.", code="on_hold")


def fo_transition(
    fo: FulfillmentOrder,
    transition: str,
    *,
    actor: Actor,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    event_type: str | None = None,
    pending: Pending | None = None,
) -> None:
    """Run a fulfilment-order transition, save it (compare-and-set) and write its timeline row
    on the order (who, when, from, to, why); emit `event_type` about the fulfilment order (or
    leave the row and the event to `pending`, which the caller writes)."""
    before = fo.status
    getattr(fo, transition)()
    fo.save()
    detail = {"fulfillment_order": fo.pk, "node": fo.node.code, **(payload or {})}
    writes = pending or Pending(fo.order.merchant_id)
    writes.rows.append(
        timeline_entry(
            fo.order, f"fulfillment_order_{transition}", actor=actor, from_status=before, to_status=fo.status,
            reason=reason, payload=detail,
        )
    )  # fmt: skip
    if event_type:
        writes.events.append((event_type, fo, fo_payload(fo, reason=reason)))
    if pending is None:
        writes.write()


def fo_payload(fo: FulfillmentOrder, **extra: Any) -> dict[str, Any]:
    return {"id": fo.pk, "order": fo.order.number, "node": fo.node.code, "status": fo.status, **extra}


def units_hand_over(
    fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], *, actor: Actor, reason: str
) -> dict[FulfillmentOrderLine, int]:
    """Units leave the node (shipped, or collected at the counter): consume their reservation
    (on_hand and allocated both drop, with ledger rows) and count them shipped on the lines."""
    handed = {line: line.qty_to_ship for line in lines if line.qty_to_ship}
    stock_consume(
        reference=reservation_ref(fo),
        lines=[StockLine(line.order_line.product_id, fo.node_id, qty) for line, qty in handed.items()],
        actor=actor,
        reason=reason,
    )
    for line, qty in handed.items():
        line.qty_shipped += qty
        line.save(update_fields=["qty_shipped"])
    return handed


def order_lines_add(changes: dict[int, dict[str, int]]) -> None:
    """Add to order-line quantities: {line id: {"qty_shipped": 2, "qty_allocated": -2}}."""
    for pk, deltas in changes.items():
        OrderLine.objects.filter(pk=pk).update(**{name: F(name) + delta for name, delta in deltas.items()})


def capture_value(order: Order, units: dict[int, int], *, reference: str, actor: Actor) -> bool:
    """Capture the value of these units (per order-line id), plus the shipping charge with the
    first capture, from the order's authorizations. Return True once captured; False when a
    capture was declined or is still pending (the payments job retries it; asking again with the
    same reference picks it up). Call outside any transaction: it calls the gateway."""
    payments = list(Payment.objects.filter(order=order).order_by("pk"))
    captured = sum((p.captured_amount for p in payments), Decimal(0))
    value = line_value(order, units)
    if captured == 0:
        value += order.shipping_price + order.shipping_tax
    remaining = min(value, order_amount_due(order) - captured)
    for payment in payments:
        if remaining <= 0:
            break
        amount = min(payment.capturable_amount, remaining)
        if amount <= 0:
            continue
        key = f"{reference}:{payment.pk}"
        waiting = payment.transactions.filter(
            kind=PaymentTransaction.Kind.CAPTURE, reference=key, outcome=Outcome.PENDING,
            next_attempt_at__gt=timezone.now(),
        )  # fmt: skip
        if waiting.exists():
            return False  # a retry is scheduled (backoff): the payments job sends it, not us
        txn = payment_capture(payment=payment, actor=actor, amount=amount, reference=key)
        if txn is None or txn.outcome != Outcome.SUCCEEDED:
            return False
        remaining -= amount
    return True
