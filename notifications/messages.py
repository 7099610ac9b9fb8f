"""The customer messages: which event sends which template, and the data each template gets.

Templates read plain dictionaries (never model instances), so the admin preview renders every
message from sample data (notifications/samples.py) through exactly the same templates.
Event payloads are read defensively: emitters own their payloads, and a field they leave out
falls back to what the order itself shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import format_currency
from django.apps import apps
from django.core.exceptions import FieldError

from oms.models import OutboxEvent
from oms.tracking import tracking_url
from orders.models import Order, OrderLine


@dataclass(frozen=True)
class Message:
    key: str
    title: str
    events: tuple[str, ...]
    subject: str  # a Django template string over the message context
    note: str = ""
    # Not sent for an event whose payload `source` starts so (another message tells the customer).
    skip_sources: tuple[str, ...] = ()

    def wanted(self, payload: dict[str, Any]) -> bool:
        return not (self.skip_sources and str(payload.get("source") or "").startswith(self.skip_sources))


MESSAGES: dict[str, Message] = {
    m.key: m
    for m in [
        Message("order_confirmation", "Order confirmation", ("order.validated",),
                "Thank you for your order {{ order.number }}"),
        Message("shipping_notification", "Shipping notification", ("shipment.shipped",),
                "Your order {{ order.number }} is on its way"),
        Message("out_for_delivery", "Out for delivery", ("shipment.out_for_delivery",),
                "Your order {{ order.number }} is out for delivery today"),
        Message("delivered", "Delivered", ("shipment.delivered",),
                "Your order {{ order.number }} was delivered"),
        Message("partial_cancellation", "Partial cancellation", ("order.partially_cancelled",),
                "Part of your order {{ order.number }} was cancelled"),
        Message("cancellation", "Cancellation", ("order.cancelled",),
                "Your order {{ order.number }} was cancelled"),
        Message("ready_for_pickup", "Ready for pick-up", ("order.ready_for_pickup",),
                "Your order {{ order.number }} is ready for pick-up"),
        Message("refund_issued", "Refund issued", ("refund.issued",),
                "We refunded {{ refund.amount_display }} on order {{ order.number }}",
                skip_sources=("returns.appeasement:",)),
        Message("appeasement", "Appeasement", ("return.appeasement_issued",),
                "A gesture of goodwill for your order {{ order.number }}",
                note="Sent when the returns work emits return.appeasement_issued."),
        Message("return_authorized", "Return authorized (with instructions)", ("return.authorized",),
                "Your return {{ rma.number }} for order {{ order.number }} is authorized",
                note="Sent when the returns work emits return.authorized."),
        Message("return_received", "Return goods received", ("return.received",),
                "We received your return {{ rma.number }}",
                note="Sent when the returns work emits return.received."),
    ]
}  # fmt: skip


def messages_for(event_type: str) -> list[Message]:
    return [m for m in MESSAGES.values() if event_type in m.events]


def email_event_types() -> set[str]:
    return {t for m in MESSAGES.values() for t in m.events}


# Values.


def money(amount: Any, currency: str) -> str:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return f"{amount} {currency}"
    return format_currency(value, currency, locale="en_US")


def _address_lines(address: dict[str, Any] | None) -> list[str]:
    if not address:
        return []
    name = " ".join(p for p in (address.get("first_name"), address.get("last_name")) if p)
    city = " ".join(p for p in (address.get("city"), address.get("region"), address.get("postal_code")) if p)
    parts = [name, address.get("company"), address.get("line1"), address.get("line2"), city, address.get("country")]
    return [p for p in parts if p]


# The order, as every template sees it.


def order_context(order: Order, lines: list[OrderLine], *, status_url: str = "") -> dict[str, Any]:
    lines_out = [
        {
            "sku": line.sku,
            "name": line.name,
            "quantity": line.quantity,
            "cancelled": line.qty_cancelled,
            "unit_price": money(line.unit_price, order.currency),
            "total": money(line.line_total, order.currency),
        }
        for line in lines
    ]
    pickup = None
    if order.pickup_node_id:
        node = order.pickup_node
        assert node is not None
        pickup = {"name": node.name, "address": [a for a in (node.line1, f"{node.city} {node.region}".strip()) if a]}
    return {
        "id": order.pk,
        "number": order.number,
        "placed_at": order.placed_at,
        "currency": order.currency,
        "customer_name": order.customer_name or order.email,
        "first_name": order.first_name,
        "email": order.email,
        "lines": lines_out,
        "shipping": money(order.shipping_price, order.currency),
        "total": money(order.total, order.currency),
        "shipping_address": _address_lines(order.shipping_address),
        "fulfillment_type": order.fulfillment_type,
        "pickup": pickup,
        "status_url": status_url.replace("{number}", order.number) if status_url else "",
    }


def _names(order: dict[str, Any]) -> dict[str, str]:
    return {line["sku"]: line["name"] for line in order["lines"]}


def _items(raw: Any, order: dict[str, Any]) -> list[dict[str, Any]]:
    """Line items from a payload ([{sku, quantity, name?}]), named from the order when missing."""
    names = _names(order)
    items = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        sku = str(item.get("sku", ""))
        items.append({"sku": sku, "name": item.get("name") or names.get(sku, sku), "quantity": item.get("quantity")})
    return items


def shipment_context(payload: dict[str, Any], order: dict[str, Any], *, tracking_template: str = "") -> dict[str, Any]:
    """Carrier, tracking and items of the shipment an event is about (payload or payload['shipment'])."""
    data = payload.get("shipment") if isinstance(payload.get("shipment"), dict) else payload
    carrier_code = str(data.get("carrier") or "")
    tracking_number = str(data.get("tracking_number") or "")
    link = data.get("tracking_url") or tracking_url(carrier_code, tracking_number, tracking_template)
    if not str(link).startswith(("https://", "http://")):
        link = ""
    return {
        "number": data.get("number") or data.get("id") or "",
        "carrier": data.get("carrier_name") or carrier_code,
        "service": data.get("service") or data.get("service_level") or "",
        "tracking_number": tracking_number,
        "tracking_url": link,
        "items": _items(data.get("lines") or data.get("items"), order),
        "estimated_delivery": data.get("estimated_delivery") or data.get("promise_date") or "",
    }


def cancellation_context(payload: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    return {"reason": payload.get("reason") or "", "items": _items(payload.get("lines"), order)}


def refund_context(payload: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    currency = payload.get("currency") or order["currency"]
    return {
        "amount_display": money(payload.get("amount", "0"), currency),
        "reason": payload.get("reason") or "",
        "items": _items(payload.get("lines"), order),
    }


def rma_context(payload: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
    data = payload.get("return") if isinstance(payload.get("return"), dict) else payload
    label_url = data.get("label_url") or ""
    return {
        "number": data.get("number") or data.get("rma") or "",
        "instructions": data.get("instructions") or "",
        "label_url": label_url if str(label_url).startswith(("https://", "http://")) else "",
        "address": _address_lines(data.get("return_address")),
        "items": _items(data.get("lines") or data.get("items"), order),
    }


def message_context(
    message: Message,
    event: OutboxEvent,
    order: dict[str, Any],
    *,
    tracking_template: str = "",
    subject: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the template of `message` needs besides branding (payload over `subject`)."""
    payload = {**(subject or {}), **(event.payload or {})}
    context: dict[str, Any] = {"order": order}
    if message.key in ("shipping_notification", "out_for_delivery", "delivered"):
        context["shipment"] = shipment_context(payload, order, tracking_template=tracking_template)
    elif message.key in ("partial_cancellation", "cancellation"):
        context["cancellation"] = cancellation_context(payload, order)
    elif message.key in ("refund_issued", "appeasement"):
        context["refund"] = refund_context(payload, order)
    elif message.key in ("return_authorized", "return_received"):
        context["rma"] = rma_context(payload, order)
    elif message.key == "ready_for_pickup":
        context["pickup_code"] = payload.get("pickup_code") or ""
    return context


def _order_key(event: OutboxEvent) -> dict[str, Any] | None:
    """How to find the order an event is about: its subject, or the order its payload names."""
    if event.subject_type == "orders.order":
        return {"pk": event.subject_id}
    payload = event.payload or {}
    ref = payload.get("order")
    if isinstance(ref, dict):
        ref = ref.get("id") or ref.get("number")
    if payload.get("order_id") is not None:
        return {"pk": payload["order_id"]}
    if isinstance(ref, int):
        return {"pk": ref}
    number = ref if isinstance(ref, str) else payload.get("order_number")
    if isinstance(number, str) and number:
        return {"number": number}
    # A subject of another app that points at its order (a shipment, a return).
    try:
        model = apps.get_model(event.subject_type)
    except (LookupError, ValueError):
        return None
    try:
        subject = model._default_manager.filter(pk=event.subject_id).values("order_id").first()
    except (FieldError, ValueError):
        return None
    return {"pk": subject["order_id"]} if subject else None


def order_for_event(event: OutboxEvent) -> tuple[Order, list[OrderLine]] | None:
    """The order an event is about, with its lines: one query (the lines joined to their order).

    A pick-up order's store is read when its message asks for it: joining the node's columns
    for every order cost Django a third of this query's time (bench/statement_cost.py)."""
    key = _order_key(event)
    if key is None:
        return None
    lines = list(
        OrderLine.objects.filter(order__merchant_id=event.merchant_id, **{f"order__{k}": v for k, v in key.items()})
        .select_related("order__merchant")
        .order_by("position")
    )
    if lines:
        return lines[0].order, lines
    order = Order.objects.filter(merchant_id=event.merchant_id, **key).select_related("merchant")
    found = order.first()
    return (found, []) if found else None
