"""Only orders.services writes order-line quantities and moves the order's status after them.

Routing, fulfilment, tracking and returns call `orders.services.quantities` and
`orders.services.status.order_status_reconcile`; a scan of the source fails when any other
module writes those fields or runs those transitions itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.conf import settings

APPS = ["oms", "inventory", "orders", "fulfillment", "returns", "notifications", "reports"]
# The writers: the services, and the models whose FSM transitions change the status field.
ALLOWED = ("orders/services/", "orders/models.py")
# Fields only an order line has: any write of them is an order-line write.
LINE_ONLY = {"qty_allocated", "qty_backordered", "qty_delivered", "qty_returned"}
# Fields a fulfilment line has too: a write counts where it is plainly an order line's.
SHARED = {"quantity", "qty_cancelled", "qty_shipped"}
FIELDS = LINE_ONLY | SHARED
# The transitions the quantities decide (orders.services.status.STEPS).
RECONCILED = {"allocate", "allocate_partially", "backorder", "ship_partially", "ship", "deliver"}
ORDER_MODELS = {"Order", "OrderLine"}


def _root(node: ast.expr) -> ast.expr:
    """The start of a chain: `OrderLine` in `OrderLine.objects.filter(...).update`."""
    while isinstance(node, (ast.Attribute, ast.Call, ast.Subscript)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node


def _names(node: ast.expr) -> set[str]:
    """Every name and attribute along a chain: {"order", "lines", "filter"} for order.lines.filter()."""
    found = set()
    while True:
        if isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            node = node.value
        else:
            if isinstance(node, ast.Name):
                found.add(node.id)
            return found


def _is_order_line(node: ast.expr) -> bool:
    """`order_line`, `x.order_line`: the names the code gives an order line next to a fulfilment line."""
    return (isinstance(node, ast.Name) and node.id == "order_line") or (
        isinstance(node, ast.Attribute) and node.attr == "order_line"
    )


def _is_order(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "order") or (
        isinstance(node, ast.Attribute) and node.attr == "order"
    )


def _on_order_tables(receiver: ast.expr) -> bool:
    """A queryset of orders or order lines: `Order.objects…`, `OrderLine.objects…`, `order.lines…`."""
    root = _root(receiver)
    return (isinstance(root, ast.Name) and root.id in ORDER_MODELS) or "lines" in _names(receiver)


def _strings(node: ast.expr | None) -> set[str]:
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


def _written(target: ast.expr) -> str | None:
    if not isinstance(target, ast.Attribute):
        return None
    if target.attr in LINE_ONLY or (target.attr in SHARED and _is_order_line(target.value)):
        return f"assigns .{target.attr}"
    if target.attr == "status" and _is_order(target.value):
        return "assigns the order's status"
    return None


def _called(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name) and func.id == "run_transition" and len(call.args) >= 2:
        name = call.args[1]
        if isinstance(name, ast.Constant) and name.value in RECONCILED:
            return f"runs the order transition {name.value!r}"
    if not isinstance(func, ast.Attribute):
        return None
    if func.attr in RECONCILED and _is_order(func.value) and not call.args:
        return f"runs the order transition {func.attr!r}"
    if func.attr == "update" and _on_order_tables(func.value):
        keys = {k.arg for k in call.keywords}
        if None in keys:
            return "updates order rows with computed fields"
        if keys & (FIELDS | {"status"}):
            return f"updates {sorted(keys & (FIELDS | {'status'}))}"
    if func.attr == "bulk_update" and _on_order_tables(func.value):
        fields = _strings(call.args[1] if len(call.args) > 1 else None)
        fields |= next((_strings(k.value) for k in call.keywords if k.arg == "fields"), set())
        if fields & (FIELDS | {"status"}):
            return f"bulk-updates {sorted(fields & (FIELDS | {'status'}))}"
    if func.attr == "save":
        fields = next((_strings(k.value) for k in call.keywords if k.arg == "update_fields"), set())
        line = _is_order_line(func.value)
        if fields & LINE_ONLY or (line and fields & SHARED) or ("status" in fields and _is_order(func.value)):
            return f"saves {sorted(fields)}"
    return None


def violations(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        problem = None
        if isinstance(node, ast.Assign):
            problem = next((p for t in node.targets if (p := _written(t))), None)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            problem = _written(node.target)
        elif isinstance(node, ast.Call):
            problem = _called(node)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            sql = node.value.upper().replace('"', "")
            if "UPDATE ORDERS_ORDERLINE" in sql or "UPDATE ORDERS_ORDER " in sql:
                problem = "updates order rows in SQL"
        if problem:
            found.append(f"{where}:{node.lineno}: {problem}")
    return found


def scanned() -> list[Path]:
    base = Path(settings.BASE_DIR)
    paths = [p for app in APPS for p in (base / app).rglob("*.py") if "migrations" not in p.parts]
    return [p for p in paths if not p.relative_to(base).as_posix().startswith(ALLOWED)]


def test_only_orders_services_write_line_quantities_and_reconcile_the_status():
    base = Path(settings.BASE_DIR)
    files = scanned()
    assert any(p.match("fulfillment/execution/shipping.py") for p in files)  # the scan reaches the callers
    found = [v for p in files for v in violations(p.read_text(), p.relative_to(base).as_posix())]
    assert not found, "call orders.services.quantities / order_status_reconcile instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "source",
    [
        "line.qty_allocated += 2",
        "line.order_line.qty_shipped = 3",
        "order_line.qty_cancelled += n",
        "order.status = 'shipped'",
        "OrderLine.objects.filter(pk=1).update(qty_shipped=F('qty_shipped') + 1)",
        "OrderLine.objects.filter(pk=pk).update(**{name: F(name) + d for name, d in deltas.items()})",
        "order.lines.filter(pk=1).update(qty_delivered=1)",
        "Order.objects.filter(pk=1).update(status='shipped')",
        "OrderLine.objects.bulk_update(lines, ['qty_allocated', 'qty_backordered'])",
        "line.save(update_fields=['qty_returned'])",
        "fo.order_line.save(update_fields=['qty_shipped'])",
        "run_transition(order, 'ship', actor=actor, event_type='order.shipped')",
        "fo.order.deliver()",
        "cursor.execute('UPDATE \"orders_orderline\" SET qty_shipped = 1')",
    ],
)
def test_the_scan_finds_a_write_outside_orders_services(source):
    assert violations(source, "x.py")


@pytest.mark.parametrize(
    "source",
    [
        "line.qty_shipped += qty\nline.save(update_fields=['qty_shipped'])",  # a fulfilment line
        "line.qty_cancelled += qty",
        "fo.save(update_fields=['status'])",
        "FulfillmentOrderLine.objects.filter(pk=1).update(qty_picked=2)",
        "run_transition(order, 'release', actor=actor, event_type='order.released')",
        "fo_transition(fo, 'ship', actor=actor)",
        "order.save(update_fields=['promise_date', 'updated_at'])",
        "total = sum(line.qty_allocated for line in lines)",
    ],
)
def test_the_scan_leaves_other_writes_alone(source):
    assert not violations(source, "x.py")
