"""The order-cancellation hook (registered in FulfillmentConfig.ready()).

Units no node holds are cancelled by orders itself; units at a node that has not picked yet
are cancelled there now (their stock released); units already picked wait for the node to
confirm it put them back (`POST …/cancel/`), and the order's cancellation answers 202.
"""

from __future__ import annotations

from collections import defaultdict

from fulfillment.execution.node import cancel_request, cancel_units
from fulfillment.models import AFTER_PICK, BEFORE_PICK, FulfillmentOrder, FulfillmentOrderLine
from oms.actors import Actor
from orders.models import Order


def on_order_cancel(order: Order, wanted: dict[int, int], actor: Actor, reason: str) -> dict[int, int]:
    """Return the quantities per order line that wait for a node's confirmation."""
    fo_lines = list(
        FulfillmentOrderLine.objects.select_for_update(of=("self",))
        .filter(order_line_id__in=list(wanted), fulfillment_order__status__in=[*BEFORE_PICK, *AFTER_PICK])
        .select_related("fulfillment_order__node", "order_line")
        .order_by("fulfillment_order_id", "pk")
    )
    if not fo_lines:
        return {}
    now_units: dict[int, dict[FulfillmentOrderLine, int]] = defaultdict(dict)
    later_units: dict[int, dict[FulfillmentOrderLine, int]] = defaultdict(dict)
    pending: dict[int, int] = {}
    for pk, quantity in wanted.items():
        mine = [line for line in fo_lines if line.order_line_id == pk and line.qty_open]
        order_line = mine[0].order_line if mine else None
        at_nodes = sum(line.qty_open for line in mine)
        free = (order_line.qty_open - at_nodes) if order_line else quantity
        take = quantity - min(quantity, max(free, 0))
        # Not yet picked first: those cancel at once; picked ones only if still needed.
        for line in sorted(mine, key=lambda line: line.fulfillment_order.status in AFTER_PICK):
            if take <= 0:
                break
            n = min(take, line.qty_open)
            fo = line.fulfillment_order
            if fo.status in BEFORE_PICK:
                now_units[fo.pk][line] = n
            else:
                # Units the node was already asked to put back are pending, not asked for again.
                asked = int((fo.cancel_request or {}).get("lines", {}).get(str(line.pk), 0))
                if n > asked:
                    later_units[fo.pk][line] = n - asked
                pending[pk] = pending.get(pk, 0) + n
            take -= n
    for fo_id in sorted({*now_units, *later_units}):
        fo = FulfillmentOrder.objects.select_for_update(of=("self",)).select_related("node").get(pk=fo_id)
        fo.order = order
        if fo_id in now_units:
            cancel_units(fo, now_units[fo_id], reason=reason, actor=actor)
        if fo_id in later_units:
            cancel_request(fo, later_units[fo_id], reason=reason, actor=actor)
    return pending
