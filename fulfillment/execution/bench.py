"""The packing bench: a packer scans every unit into parcels, then packs and ships in one go —
the pack verifies the scans, the shipment gets one rate-shopped label per parcel."""

from __future__ import annotations

from collections import Counter

from fulfillment.execution.node import fulfillment_order_pack
from fulfillment.execution.shipping import fulfillment_order_ship
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from fulfillment.tracking.models import Shipment
from oms.actors import Actor
from oms.errors import Conflict, DomainError


def parcels_from_scans(lines: list[FulfillmentOrderLine], parcels: list[list[str]]) -> list[dict[str, object]]:
    """Turn each parcel's scanned barcodes into the shipping service's parcel lines."""
    by_code = {code.strip(): line for line in lines for code in line.order_line.product.all_barcodes}
    out = []
    for p, scans in enumerate(parcels, start=1):
        counts: Counter[int] = Counter()
        for code in scans:
            line = by_code.get(code.strip())
            if line is None:
                raise DomainError(f"Parcel {p}: {code} is not in this order.", field="parcels", code="scan_mismatch")
            counts[line.pk] += 1
        if counts:
            out.append({"lines": [{"line": pk, "quantity": qty} for pk, qty in counts.items()]})
    return out


def fulfillment_order_pack_and_ship(
    *, fulfillment_order: FulfillmentOrder, parcels: list[list[str]], actor: Actor, rejected: list[str] | None = None
) -> list[Shipment]:
    """Pack a picked fulfilment order from the scans of its parcels, then ship one shipment per
    parcel. The pack and the shipment are separate steps (the shipment may capture payment): when
    shipping is refused the order stays packed and the packer ships it again from the same screen."""
    if fulfillment_order.status == FulfillmentStatus.PICKED:
        scans = [code for parcel in parcels for code in parcel]
        fulfillment_order = fulfillment_order_pack(
            fulfillment_order=fulfillment_order, scans=scans, actor=actor, rejected=rejected
        )
    elif fulfillment_order.status != FulfillmentStatus.PACKED:
        raise Conflict(f"Fulfilment order {fulfillment_order.pk} is {fulfillment_order.status}; only a picked or "
                       "packed one is packed and shipped here.", code="invalid_state")  # fmt: skip
    lines = list(fulfillment_order.lines.select_related("order_line__product"))
    return fulfillment_order_ship(
        fulfillment_order=fulfillment_order, actor=actor, parcels=parcels_from_scans(lines, parcels)
    )
