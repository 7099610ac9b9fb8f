"""Order-line quantities: the one writer of them outside order capture, cancellation and amendment.

Routing, fulfilment, tracking and returns report what happened to units (placed, given back,
handed over, delivered, returned); these functions count it on the lines. The header then
follows the lines through `orders.services.status.order_status_reconcile`. Callers hold the
order's lock (`orders.services.holds.order_lock`), so two writers of one order's lines never
interleave.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Value
from django.db.models.functions import Greatest

from oms.bulk import update_together
from orders.models import OrderLine


def _lines_add(changes: dict[int, dict[str, int]], *, floor_allocated: bool = False) -> None:
    """Add to line quantities, one UPDATE per line: {line id: {"qty_shipped": 2, "qty_allocated": -2}}.
    `floor_allocated`: allocated units stop at zero instead of the database refusing."""
    for pk, deltas in changes.items():
        values: dict[str, Any] = {name: F(name) + delta for name, delta in deltas.items()}
        if floor_allocated and "qty_allocated" in values:
            values["qty_allocated"] = Greatest(values["qty_allocated"], Value(0))
        OrderLine.objects.filter(pk=pk).update(**values)


def order_lines_allocate(*, lines: list[OrderLine], placed: dict[int, int], open_quantities: dict[int, int]) -> None:
    """Routing placed `placed` of each line's open quantity: those are allocated, the rest of
    what was open waits as backordered. Updates `lines` in place (one statement)."""
    for line in lines:
        line.qty_allocated += placed.get(line.pk, 0)
        line.qty_backordered = open_quantities[line.pk] - placed.get(line.pk, 0)
    update_together(lines, ["qty_allocated", "qty_backordered"])


def order_lines_unallocate(*, units: dict[int, int], backorder: bool) -> None:
    """A node gave back (or lost) these units per line id: no longer allocated there.
    `backorder`: they wait as backordered until routing places them again."""
    changes = {
        pk: {"qty_allocated": -n, **({"qty_backordered": n} if backorder else {})} for pk, n in units.items() if n
    }
    # Allocated units stop at zero (as the shortfall re-route always had it) rather than the
    # database refusing the node's whole transaction.
    _lines_add(changes, floor_allocated=True)


def order_lines_ship(*, units: dict[int, int], collected: bool = False) -> None:
    """These units per line id left their node: shipped (`collected`: handed over at the
    counter, so delivered at once) and no longer allocated."""
    _lines_add(
        {pk: {"qty_shipped": n, "qty_allocated": -n, **({"qty_delivered": n} if collected else {})}
         for pk, n in units.items() if n}
    )  # fmt: skip


def order_lines_deliver(*, units: dict[int, int]) -> None:
    """The carrier delivered these units per line id."""
    _lines_add({pk: {"qty_delivered": n} for pk, n in units.items() if n})


def order_lines_return(*, units: dict[int, int]) -> None:
    """These units per line id came back and were received at a node."""
    _lines_add({pk: {"qty_returned": n} for pk, n in units.items() if n})
