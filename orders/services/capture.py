"""Order capture: exactly once per (merchant, channel, external id), validated synchronously."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from inventory.models import Node, Product
from oms.actors import Actor
from oms.errors import Conflict, FieldError, InvalidInput
from oms.models import Channel, Merchant
from oms.outbox import emit_many
from oms.tenancy import merchant_next_order_sequence
from orders.models import Customer, FulfillmentType, Hold, Order, OrderLine, OrderStatus, Payment
from orders.payments.intake import order_after_validation
from orders.payments.services import payments_prepare_at_capture
from orders.services.holds import hold_place
from orders.services.soft_checks import address_problems
from orders.services.timeline import order_payload, timeline_entry


def _existing(merchant: Merchant, channel_code: str, external_id: str) -> Order | None:
    return Order.objects.filter(merchant=merchant, channel__code=channel_code, external_id=external_id).first()


def _repeat(order: Order, fingerprint: str) -> Order:
    if order.request_hash != fingerprint:
        raise Conflict(
            f"Order {order.number} was already captured for this external id with a different body; "
            f"change it with PATCH /api/v1/orders/{order.number}/.",
            field="external_id",
            code="duplicate_external_id",
        )
    return order


def resolve_pickup_node(merchant: Merchant, code: str, field: str) -> Node:
    node = Node.objects.filter(code=code, merchants=merchant, active=True).first()
    if node is None or node.type != Node.Type.STORE or not node.can(Node.Capability.PICKUP):
        raise InvalidInput([FieldError(field, "invalid", f"'{code}' is not an active pick-up store of this merchant.")])
    return node


def _resolve(merchant: Merchant, data: dict[str, Any]) -> tuple[Channel, dict[str, Product], Node | None]:
    errors: list[FieldError] = []
    channel = Channel.objects.filter(merchant=merchant, code=data["channel"], active=True).first()
    if channel is None:
        errors.append(FieldError("channel", "invalid", f"No active channel '{data['channel']}'."))
    skus = {line["sku"] for line in data["lines"]}
    products = {p.sku: p for p in Product.objects.filter(merchant=merchant, sku__in=skus)}
    for i, line in enumerate(data["lines"]):
        product = products.get(line["sku"])
        if product is None:
            errors.append(FieldError(f"lines[{i}].sku", "unknown_sku", f"No product with SKU '{line['sku']}'."))
        elif not product.active:
            errors.append(FieldError(f"lines[{i}].sku", "inactive_sku", f"SKU '{line['sku']}' is not active."))
    node = None
    fulfillment = data["fulfillment"]
    if fulfillment["type"] == FulfillmentType.PICKUP:
        try:
            node = resolve_pickup_node(merchant, fulfillment["location"], "fulfillment.location")
        except InvalidInput as exc:
            errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    assert channel is not None
    return channel, products, node


def _customer(merchant: Merchant, data: dict[str, Any]) -> Customer:
    contact = {k: data.get(k, "") for k in ("phone", "first_name", "last_name")}
    customer, created = Customer.objects.get_or_create(merchant=merchant, email=data["email"], defaults=contact)
    changed = {k: v for k, v in contact.items() if v and getattr(customer, k) != v}
    if not created and changed:
        Customer.objects.filter(pk=customer.pk).update(**changed)
    return customer


def _cache_related(order: Order, name: str, objects: list[Any]) -> None:
    """Serve `order.<name>.all()` from objects already in memory, as prefetch_related would."""
    queryset = getattr(order, name).all()
    queryset._result_cache = objects
    queryset._prefetch_done = True
    order._prefetched_objects_cache = {**getattr(order, "_prefetched_objects_cache", {}), name: queryset}


def order_capture(*, merchant: Merchant, data: dict[str, Any], actor: Actor, fingerprint: str) -> tuple[Order, bool]:
    """Capture an order from validated request data. Return (order, created).

    A repeat of an already captured (channel, external id) returns the existing order when the
    body is the same and raises Conflict when it differs; concurrent duplicates are settled by
    the unique constraint, so exactly one order is ever created.
    """
    existing = _existing(merchant, data["channel"], data["external_id"])
    if existing is not None:
        return _repeat(existing, fingerprint), False
    channel, products, pickup_node = _resolve(merchant, data)
    number = f"{merchant.order_prefix}-{merchant_next_order_sequence(merchant):06d}"
    try:
        with transaction.atomic():
            order = _create(merchant, channel, products, pickup_node, data, number, actor, fingerprint)
    except IntegrityError:
        existing = _existing(merchant, data["channel"], data["external_id"])
        if existing is None:
            raise
        return _repeat(existing, fingerprint), False
    return order, True


def _create(
    merchant: Merchant,
    channel: Channel,
    products: dict[str, Product],
    pickup_node: Node | None,
    data: dict[str, Any],
    number: str,
    actor: Actor,
    fingerprint: str,
) -> Order:
    contact = data["customer"]
    order = Order(
        merchant=merchant,
        channel=channel,
        number=number,
        external_id=data["external_id"],
        channel_order_name=data.get("channel_order_name", ""),
        placed_at=data["placed_at"],
        currency=data["currency"],
        customer=_customer(merchant, contact),
        email=contact["email"],
        phone=contact.get("phone", ""),
        first_name=contact.get("first_name", ""),
        last_name=contact.get("last_name", ""),
        shipping_address=data["shipping_address"],
        billing_address=data["billing_address"],
        service_level=data["shipping"]["service_level"],
        fulfillment_type=data["fulfillment"]["type"],
        pickup_node=pickup_node,
        shipping_price=data["shipping"]["price"],
        shipping_tax=data["shipping"]["tax"],
        total=data["total"],
        promise_date=data.get("promise_date"),
        notes=data.get("notes", ""),
        request_hash=fingerprint,
    )
    # Received and validated in one INSERT: validation already passed; both steps are recorded.
    order.validate()
    order.save()
    lines = [
        OrderLine(
            order=order,
            position=i + 1,
            product=products[line["sku"]],
            sku=line["sku"],
            name=products[line["sku"]].name,
            bundle=line.get("bundle", ""),
            unit_price=line["unit_price"],
            discount=line["discount"],
            tax=line["tax"],
            quantity=line["quantity"],
        )
        for i, line in enumerate(data["lines"])
    ]
    payments = [Payment(order=order, currency=order.currency, **payment) for payment in data["payments"]]
    payments_prepare_at_capture(order=order, payments=payments)
    OrderLine.objects.bulk_create(lines)
    Payment.objects.bulk_create(payments)
    # What was just written is what fraud screening, the tax check and the response read.
    _cache_related(order, "lines", lines)
    _cache_related(order, "payments", payments)
    order.events.bulk_create(
        [
            timeline_entry(order, "receive", actor=actor, to_status=OrderStatus.RECEIVED),
            timeline_entry(
                order, "validate", actor=actor, from_status=OrderStatus.RECEIVED, to_status=OrderStatus.VALIDATED
            ),
        ]
    )
    emit_many(
        [
            ("order.received", order, order_payload(order, status=OrderStatus.RECEIVED)),
            ("order.validated", order, order_payload(order)),
        ],
        merchant_id=merchant.pk,
    )
    problems = address_problems(order)
    for problem in problems:
        hold_place(order=order, type=Hold.Type.ADDRESS, reason=problem, actor=actor)
    # Fraud screening, the tax check, then the payment rule (orders/payments/intake.py).
    order_after_validation(order=order, actor=actor, held=bool(problems))
    return order
