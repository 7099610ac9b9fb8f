"""Pick lists: one walk through a node for a batch of fulfilment orders, as a printable PDF.

Units of the same SKU are summed into one row (with how many go to which order), and rows come
in bin order (the walk) or SKU order. Printing the list is taking the work: released fulfilment
orders on it are accepted. Orders on hold are left off and named.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from django.utils import timezone
from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from fulfillment.execution.node import fulfillment_order_accept
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from inventory.models import StockLevel
from oms.actors import Actor
from orders.models import OrderStatus

SORTS = {"bin": "bin order", "sku": "SKU order"}
PICKABLE = [FulfillmentStatus.RELEASED, FulfillmentStatus.ACCEPTED]


@dataclass
class PickRow:
    node: str
    bin: str
    sku: str
    name: str
    barcode: str
    quantity: int = 0
    orders: dict[str, int] = field(default_factory=dict)  # fulfilment order label -> units


@dataclass(frozen=True)
class PickList:
    rows: list[PickRow]
    fulfillment_orders: list[FulfillmentOrder]
    left_off: list[str]  # why an asked-for fulfilment order is not on the list
    sort: str


def pick_list_rows(lines: list[FulfillmentOrderLine], *, sort: str) -> list[PickRow]:
    """Sum the open units per (node, SKU) with their bin; sorted by bin (unknown bins last) or SKU."""
    bins = {
        (product_id, node_id): bin
        for product_id, node_id, bin in StockLevel.objects.filter(
            product_id__in={line.order_line.product_id for line in lines},
            node_id__in={line.fulfillment_order.node_id for line in lines},
        ).values_list("product_id", "node_id", "bin_location")
    }
    rows: dict[tuple[int, int], PickRow] = {}
    for line in lines:
        fo, product = line.fulfillment_order, line.order_line.product
        key = (fo.node_id, product.pk)
        if key not in rows:
            rows[key] = PickRow(fo.node.code, bins.get((product.pk, fo.node_id), ""), product.sku, product.name,
                                product.barcode)  # fmt: skip
        row = rows[key]
        row.quantity += line.qty_open
        label = f"{fo.order.number} (FO {fo.pk})"
        row.orders[label] = row.orders.get(label, 0) + line.qty_open
    if sort == "bin":
        return sorted(rows.values(), key=lambda r: (r.node, r.bin == "", r.bin, r.sku))
    return sorted(rows.values(), key=lambda r: (r.node, r.sku))


def pick_list_make(*, fulfillment_order_ids: list[int], sort: str, actor: Actor) -> PickList:
    """Accept the released fulfilment orders asked for and list what to pick for them."""
    if sort not in SORTS:
        raise ValueError(sort)
    chosen = list(
        FulfillmentOrder.objects.filter(pk__in=fulfillment_order_ids).select_related("order", "node").order_by("pk")
    )
    left_off, listed = [], []
    for fo in chosen:
        if fo.order.status == OrderStatus.ON_HOLD:
            left_off.append(f"{fo.order.number} (FO {fo.pk}) is on hold")
        elif fo.status not in PICKABLE:
            left_off.append(f"{fo.order.number} (FO {fo.pk}) is {fo.status}")
        else:
            if fo.status == FulfillmentStatus.RELEASED:
                fo = fulfillment_order_accept(fulfillment_order=fo, actor=actor)
            listed.append(fo)
    lines = list(
        FulfillmentOrderLine.objects.filter(fulfillment_order__in=listed)
        .select_related("fulfillment_order__order", "fulfillment_order__node", "order_line__product")
        .order_by("pk")
    )
    rows = pick_list_rows([line for line in lines if line.qty_open], sort=sort)
    return PickList(rows, listed, left_off, sort)


def pick_list_pdf(pick_list: PickList, *, printed_by: str) -> bytes:
    """The pick list as an A4 PDF: a header, one row per bin and SKU with its barcode, the orders."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=12 * mm,
                            bottomMargin=12 * mm, title="Pick list")  # fmt: skip
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    units = sum(row.quantity for row in pick_list.rows)
    story: list = [
        Paragraph(f"Pick list — {len(pick_list.fulfillment_orders)} fulfilment order(s), {units} unit(s), "
                  f"{SORTS[pick_list.sort]}", styles["Heading2"]),
        Paragraph(f"Printed {timezone.localtime():%Y-%m-%d %H:%M} by {printed_by}", small),
        Spacer(1, 4 * mm),
    ]  # fmt: skip
    data: list[list] = [["Node", "Bin", "SKU", "Item", "Barcode", "Qty", "For", "Picked"]]
    for row in pick_list.rows:
        bars = code128.Code128(row.barcode, barHeight=7 * mm, barWidth=0.7) if row.barcode else ""
        orders = "<br/>".join(f"{label} × {qty}" for label, qty in row.orders.items())
        data.append([row.node, row.bin or "—", row.sku, Paragraph(row.name, small), bars, str(row.quantity),
                     Paragraph(orders, small), ""])  # fmt: skip
    table = Table(data, colWidths=[18 * mm, 16 * mm, 28 * mm, 38 * mm, 36 * mm, 10 * mm, 34 * mm, 10 * mm],
                  repeatRows=1)  # fmt: skip
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("FONT", (1, 1), (1, -1), "Helvetica-Bold", 10),
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
    ]))  # fmt: skip
    story.append(table)
    if pick_list.left_off:
        story += [Spacer(1, 4 * mm), Paragraph("Not on this list: " + "; ".join(pick_list.left_off) + ".", small)]
    doc.build(story)
    return buffer.getvalue()
