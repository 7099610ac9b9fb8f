"""What every fulfilment service shares: locks in one order, the hold guard, the timeline row
of a fulfilment-order transition, the reservation reference, settings, and units handed over."""

from __future__ import annotations

from typing import Any

from fulfillment.execution.models import FulfillmentSettings, NodeProfile
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from inventory.models import Node
from inventory.services.stock import StockLine, stock_consume
from oms.actors import Actor
from oms.caches import ProcessCache
from oms.errors import Conflict
from oms.payloads import fulfillment_order_payload
from oms.refs import Ref
from orders.models import Order, OrderStatus
from orders.services.holds import order_lock
from orders.services.quantities import order_lines_ship
from orders.services.timeline import Pending, timeline_entry

SYSTEM = Actor.system("fulfilment")


def _fulfillment_settings(merchant_id: int) -> FulfillmentSettings:
    found = FulfillmentSettings.objects.filter(merchant_id=merchant_id).first()
    return found or FulfillmentSettings(merchant_id=merchant_id)


# Per process: read by every release, changed rarely (oms.caches).
_SETTINGS = ProcessCache("fulfillment.settings", _fulfillment_settings, invalidated_by=(FulfillmentSettings,))


def settings_for(merchant_id: int) -> FulfillmentSettings:
    return _SETTINGS.get(merchant_id)


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
        writes.events.append((event_type, fo, fulfillment_order_payload(fo, reason=reason)))
    if pending is None:
        writes.write()


def units_hand_over(
    fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], *, actor: Actor, reason: str, collected: bool = False
) -> dict[FulfillmentOrderLine, int]:
    """Units leave the node (shipped, or `collected` at the counter): consume their reservation
    (on_hand and allocated both drop, with ledger rows) and count them shipped on the lines,
    the order's through orders.services."""
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
    order_lines_ship(units={line.order_line_id: qty for line, qty in handed.items()}, collected=collected)
    return handed
