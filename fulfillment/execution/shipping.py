"""Ship a packed fulfilment order: parcels, rate shopping, labels, stock consumed, captured
per shipment where the merchant captures so, and the order's header moved on."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import transaction

from fulfillment.carriers.adapters import adapter_for
from fulfillment.carriers.labels import LabelData
from fulfillment.carriers.models import CarrierService
from fulfillment.carriers.rates import DEFAULT_UNIT_WEIGHT_KG, Parcel
from fulfillment.carriers.shopping import rate_shop
from fulfillment.execution.common import fo_transition, guard_node_action, lock, settings_for, units_hand_over
from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine, FulfillmentStatus
from fulfillment.tracking.models import Shipment, ShipmentDocument, ShipmentLine
from inventory.models import Node
from oms.actors import Actor
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import shipment_payload
from orders.models import Order
from orders.payments.models import CaptureTiming
from orders.payments.services import payment_capture_units, payment_captures_at
from orders.services.status import order_status_reconcile


@dataclass(frozen=True)
class ParcelPlan:
    units: dict[int, int]  # fulfilment-order line id -> quantity
    weight_kg: Decimal | None


def _plan(lines: list[FulfillmentOrderLine], parcels: list[dict[str, Any]] | None) -> list[ParcelPlan]:
    """Check the parcels hold exactly what was packed; no parcels means one with everything."""
    to_ship = {line.pk: line.qty_to_ship for line in lines if line.qty_to_ship}
    if not parcels:
        return [ParcelPlan(to_ship, None)]
    errors = []
    total: dict[int, int] = {}
    plans = []
    for p, parcel in enumerate(parcels):
        units: dict[int, int] = {}
        for i, item in enumerate(parcel["lines"]):
            if item["line"] not in to_ship:
                errors.append(
                    FieldError(
                        f"parcels[{p}].lines[{i}].line", "invalid", f"Line {item['line']} has nothing packed to ship."
                    )
                )
                continue
            units[item["line"]] = units.get(item["line"], 0) + item["quantity"]
            total[item["line"]] = total.get(item["line"], 0) + item["quantity"]
        plans.append(ParcelPlan(units, parcel.get("weight_kg")))
    if errors:
        raise InvalidInput(errors)
    differences = [
        f"line {pk}: {total.get(pk, 0)} in parcels, {qty} packed"
        for pk, qty in to_ship.items()
        if total.get(pk, 0) != qty
    ]
    if differences:
        raise DomainError("The parcels must hold exactly what was packed: " + "; ".join(differences) + ".",
                          field="parcels", code="parcels_mismatch")  # fmt: skip
    return plans


def _parcel(plan: ParcelPlan, lines: dict[int, FulfillmentOrderLine]) -> Parcel:
    weight, volume, measured = Decimal(0), Decimal(0), True
    for pk, qty in plan.units.items():
        product = lines[pk].order_line.product
        weight += (product.weight_kg or DEFAULT_UNIT_WEIGHT_KG) * qty
        if product.length_cm and product.width_cm and product.height_cm:
            volume += product.length_cm * product.width_cm * product.height_cm * qty
        else:
            measured = False
    return Parcel(weight_kg=plan.weight_kg or weight, volume_cm3=volume if measured else Decimal(0))


def _address_lines(node: Node) -> list[str]:
    return [node.name, node.line1, f"{node.city} {node.region} {node.postal_code}".strip(), node.country]


def _ship_to(order: Order) -> list[str]:
    a = order.shipping_address or {}
    name = f"{a.get('first_name', '')} {a.get('last_name', '')}".strip() or order.customer_name
    return [line for line in [name, a.get("company", ""), a.get("line1", ""), a.get("line2", ""),
            f"{a.get('city', '')} {a.get('region', '')} {a.get('postal_code', '')}".strip(), a.get("country", "")]
            if line]  # fmt: skip


def _create_shipment(
    order: Order, fo: FulfillmentOrder, plan: ParcelPlan, lines: dict[int, FulfillmentOrderLine], policy: str
) -> Shipment:
    parcel = _parcel(plan, lines)
    shop = rate_shop(
        origin=fo.node, destination=order.shipping_address or {}, parcel=parcel, service_level=order.service_level,
        promise_date=order.promise_date, policy=policy,
    )  # fmt: skip
    quote = shop.chosen
    service = CarrierService.objects.select_related("carrier").get(pk=quote.service_id)
    items = [(lines[pk].order_line.sku, lines[pk].order_line.name, qty) for pk, qty in plan.units.items()]
    data = LabelData(
        tracking_number="", carrier_name=service.carrier.name, service_name=service.name,
        ship_from=_address_lines(fo.node), ship_to=_ship_to(order), weight_kg=f"{parcel.weight_kg:.2f}",
        order_number=order.number, reference=f"FO-{fo.pk}", ship_date=quote.ship_date, lines=items,
    )  # fmt: skip
    label = adapter_for(service.carrier).create_label(service.carrier, service, data, quote)
    shipment = Shipment.objects.create(
        fulfillment_order=fo, order=order, carrier=service.carrier, service=service,
        tracking_number=label.tracking_number, carrier_reference=label.reference, weight_kg=parcel.weight_kg,
        billable_weight_kg=quote.billable_weight_kg,
        rate=quote.price, currency=quote.currency, estimated_delivery=quote.estimated_delivery,
        promise_date=order.promise_date, quotes=[q.as_json() for q in shop.quotes], policy=shop.policy,
        choice_reason=shop.reason,
    )  # fmt: skip
    ShipmentLine.objects.bulk_create(
        [ShipmentLine(shipment=shipment, fulfillment_line=lines[pk], order_line=lines[pk].order_line, quantity=qty)
         for pk, qty in plan.units.items()]
    )  # fmt: skip
    docs = label.documents
    ShipmentDocument.objects.bulk_create([
        ShipmentDocument(shipment=shipment, kind=ShipmentDocument.Kind.LABEL_PDF, content_type="application/pdf",
                         content=docs.label_pdf),
        ShipmentDocument(shipment=shipment, kind=ShipmentDocument.Kind.LABEL_ZPL, content_type="application/zpl",
                         content=docs.label_zpl.encode()),
        ShipmentDocument(shipment=shipment, kind=ShipmentDocument.Kind.PACKING_SLIP, content_type="application/pdf",
                         content=docs.packing_slip_pdf),
    ])  # fmt: skip
    return shipment


def _ship_reference(fo: FulfillmentOrder) -> str:
    return f"ship:fo:{fo.pk}"


def _validate(
    order: Order, fo: FulfillmentOrder, lines: list[FulfillmentOrderLine], parcels: list[dict[str, Any]] | None
) -> list[ParcelPlan]:
    guard_node_action(order)
    if fo.is_pickup:
        raise Conflict(f"Fulfilment order {fo.pk} is a pick-up: the customer collects it.", code="invalid_state")
    if fo.status != FulfillmentStatus.PACKED:
        raise Conflict(f"Fulfilment order {fo.pk} is {fo.status}; only a packed one ships.", code="invalid_state")
    return _plan(lines, parcels)


@transaction.atomic
def _check(fulfillment_order: FulfillmentOrder, parcels: list[dict[str, Any]] | None) -> tuple[Order, dict[int, int]]:
    order, fo, lines = lock(fulfillment_order)
    _validate(order, fo, lines, parcels)
    return order, {line.order_line_id: line.qty_to_ship for line in lines if line.qty_to_ship}


@transaction.atomic
def _ship(fulfillment_order: FulfillmentOrder, parcels: list[dict[str, Any]] | None, actor: Actor) -> list[Shipment]:
    # Checked again under the locks: a concurrent request may have shipped it since _check.
    order, fo, lines = lock(fulfillment_order)
    plans = _validate(order, fo, lines, parcels)
    by_id = {line.pk: line for line in lines}
    policy = settings_for(order.merchant_id).rate_shop_policy
    shipments = [_create_shipment(order, fo, plan, by_id, policy) for plan in plans]
    units_hand_over(fo, lines, actor=actor, reason=f"Shipped {', '.join(s.tracking_number for s in shipments)}")
    fo_transition(fo, "ship", actor=actor, payload={"shipments": [s.pk for s in shipments]},
                  event_type="fulfillment_order.shipped")  # fmt: skip
    for shipment in shipments:
        emit("shipment.shipped", subject=shipment, merchant_id=order.merchant_id, payload=shipment_payload(shipment))
    order_status_reconcile(order, actor=actor)
    return shipments


def fulfillment_order_ship(
    *, fulfillment_order: FulfillmentOrder, actor: Actor, parcels: list[dict[str, Any]] | None = None
) -> list[Shipment]:
    """Ship what was packed, one shipment per parcel (rate-shopped and labelled).

    Where the merchant captures per shipment, the value of what ships is captured first; a
    failed capture answers 409 and leaves the order on a payment hold (orders.payments).
    """
    order, units = _check(fulfillment_order, parcels)
    if payment_captures_at(order.merchant_id, CaptureTiming.PER_SHIPMENT) and not payment_capture_units(
        order=order, units=units, reference=_ship_reference(fulfillment_order), actor=actor
    ):
        raise Conflict(
            f"The payment capture for this shipment of order {order.number} did not succeed; the order is on a "
            "payment hold until it is resolved.",
            code="capture_failed",
        )
    return _ship(fulfillment_order, parcels, actor)
