"""Shipping documents: the 4×6 inch label as PDF and ZPL, and the packing slip as PDF.

The PDF label carries the tracking number as a Code 128 barcode (reportlab draws it as vector
bars, so it scans at any print resolution); the ZPL label is the same layout for thermal printers.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date

from reportlab.graphics.barcode import code128
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.pdfgen import canvas

LABEL_SIZE = (4 * inch, 6 * inch)


@dataclass(frozen=True)
class LabelData:
    tracking_number: str
    carrier_name: str
    service_name: str
    ship_from: list[str]
    ship_to: list[str]
    weight_kg: str
    order_number: str
    reference: str
    ship_date: date
    lines: list[tuple[str, str, int]] = field(default_factory=list)  # (sku, name, quantity)


def label_pdf(data: LabelData) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=LABEL_SIZE)
    pdf.setTitle(f"Label {data.tracking_number}")
    width, height = LABEL_SIZE
    margin = 0.2 * inch
    pdf.setLineWidth(1.5)
    pdf.rect(margin / 2, margin / 2, width - margin, height - margin)
    y = height - margin - 8
    pdf.setFont("Helvetica-Bold", 8)
    pdf.drawString(margin, y, "FROM")
    pdf.setFont("Helvetica", 8)
    for line in data.ship_from:
        y -= 10
        pdf.drawString(margin, y, line[:60])
    pdf.setFont("Helvetica-Bold", 9)
    pdf.drawRightString(width - margin, height - margin - 8, f"{data.weight_kg} KG")
    pdf.drawRightString(width - margin, height - margin - 20, data.ship_date.isoformat())
    y -= 14
    pdf.line(margin / 2, y, width - margin / 2, y)
    y -= 16
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(margin, y, "SHIP TO")
    pdf.setFont("Helvetica-Bold", 13)
    for line in data.ship_to:
        y -= 16
        pdf.drawString(margin + 10, y, line[:34])
    y -= 16
    pdf.line(margin / 2, y, width - margin / 2, y)
    y -= 26
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(margin, y, data.carrier_name.upper()[:22])
    y -= 18
    pdf.setFont("Helvetica-Bold", 12)
    pdf.drawString(margin, y, data.service_name.upper()[:34])
    y -= 10
    pdf.line(margin / 2, y, width - margin / 2, y)
    barcode = code128.Code128(data.tracking_number, barHeight=1.1 * inch, barWidth=1.3, quiet=True)
    x = max((width - barcode.width) / 2, margin / 2)
    y -= 1.1 * inch + 14
    barcode.drawOn(pdf, x, y)
    y -= 14
    pdf.setFont("Helvetica-Bold", 11)
    pdf.drawCentredString(width / 2, y, f"TRACKING # {data.tracking_number}")
    y -= 10
    pdf.line(margin / 2, y, width - margin / 2, y)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(margin, margin + 14, f"Order {data.order_number}")
    pdf.drawString(margin, margin + 3, f"Ref {data.reference}")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _zpl_text(value: str) -> str:
    # ^ and ~ are ZPL command prefixes: keep them out of field data.
    return value.replace("^", " ").replace("~", " ")


def label_zpl(data: LabelData) -> str:
    """The same label for a 203 dpi thermal printer (812 × 1218 dots)."""
    out = ["^XA", "^CI28", "^PW812", "^LL1218", "^FO20,20^GB772,1178,3^FS", "^CF0,24"]
    out.append("^FO40,40^FDFROM^FS")
    y = 70
    for line in data.ship_from:
        out.append(f"^FO40,{y}^A0N,22,22^FD{_zpl_text(line)}^FS")
        y += 26
    out.append(f"^FO560,40^A0N,28,28^FD{_zpl_text(data.weight_kg)} KG^FS")
    out.append(f"^FO560,76^A0N,24,24^FD{data.ship_date.isoformat()}^FS")
    y += 10
    out.append(f"^FO20,{y}^GB772,3,3^FS")
    y += 20
    out.append(f"^FO40,{y}^A0N,28,28^FDSHIP TO^FS")
    for line in data.ship_to:
        y += 40
        out.append(f"^FO70,{y}^A0N,36,36^FD{_zpl_text(line)}^FS")
    y += 56
    out.append(f"^FO20,{y}^GB772,3,3^FS")
    y += 20
    out.append(f"^FO40,{y}^A0N,48,48^FD{_zpl_text(data.carrier_name.upper())}^FS")
    y += 56
    out.append(f"^FO40,{y}^A0N,32,32^FD{_zpl_text(data.service_name.upper())}^FS")
    y += 50
    out.append(f"^FO20,{y}^GB772,3,3^FS")
    y += 30
    out.append(f"^FO60,{y}^BY3^BCN,220,N,N,N^FD{_zpl_text(data.tracking_number)}^FS")
    y += 240
    out.append(f"^FO40,{y}^A0N,32,32^FDTRACKING # {_zpl_text(data.tracking_number)}^FS")
    out.append(f"^FO40,1110^A0N,26,26^FDOrder {_zpl_text(data.order_number)}^FS")
    out.append(f"^FO40,1145^A0N,26,26^FDRef {_zpl_text(data.reference)}^FS")
    out.append("^XZ")
    return "\n".join(out) + "\n"


def packing_slip_pdf(data: LabelData) -> bytes:
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=letter)
    pdf.setTitle(f"Packing slip {data.order_number}")
    width, height = letter
    margin = 0.75 * inch
    y = height - margin
    pdf.setFont("Helvetica-Bold", 18)
    pdf.drawString(margin, y, "Packing slip")
    pdf.setFont("Helvetica", 10)
    pdf.drawRightString(width - margin, y, f"Order {data.order_number}")
    y -= 14
    pdf.drawRightString(width - margin, y, f"{data.carrier_name} {data.service_name} — {data.tracking_number}")
    y -= 28
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(margin, y, "Ship to")
    pdf.drawString(width / 2, y, "From")
    pdf.setFont("Helvetica", 10)
    for i in range(max(len(data.ship_to), len(data.ship_from))):
        y -= 13
        if i < len(data.ship_to):
            pdf.drawString(margin, y, data.ship_to[i])
        if i < len(data.ship_from):
            pdf.drawString(width / 2, y, data.ship_from[i])
    y -= 30
    pdf.setFont("Helvetica-Bold", 10)
    pdf.drawString(margin, y, "SKU")
    pdf.drawString(margin + 1.8 * inch, y, "Item")
    pdf.drawRightString(width - margin, y, "Quantity")
    pdf.line(margin, y - 4, width - margin, y - 4)
    pdf.setFont("Helvetica", 10)
    for sku, name, quantity in data.lines:
        y -= 16
        if y < margin:
            pdf.showPage()
            pdf.setFont("Helvetica", 10)
            y = height - margin
        pdf.drawString(margin, y, sku)
        pdf.drawString(margin + 1.8 * inch, y, name[:60])
        pdf.drawRightString(width - margin, y, str(quantity))
    y -= 24
    pdf.setFont("Helvetica-Oblique", 9)
    pdf.drawString(margin, y, f"{sum(q for _, _, q in data.lines)} item(s). Reference {data.reference}.")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
