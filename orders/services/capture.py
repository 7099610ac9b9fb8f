"""Order capture: exactly once per (merchant, channel, external id), validated synchronously.

A capture costs a fixed number of statements whatever the order's size (15 from the API key to
the 201, docs/PERFORMANCE.md): the merchant's channels and settings come from per-process
caches (oms.caches), every row is written with one INSERT per table, and the order it returns
carries everything its page shows, so the 201 is rendered without reading it back.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from inventory.models import Node, Product
from oms.actors import Actor
from oms.caches import ProcessCache
from oms.errors import Conflict, FieldError, InvalidInput
from oms.models import Channel, Merchant
from oms.outbox import emit_many
from oms.payloads import order_payload
from oms.tenancy import merchant_next_order_sequence
from orders.fraud.models import FraudDecision
from orders.models import Customer, FulfillmentType, Hold, Order, OrderEvent, OrderLine, OrderStatus, Payment
from orders.payments.intake import order_after_validation
from orders.payments.services import payments_prepare_at_capture, payments_record_at_capture
from orders.services.holds import hold_place
from orders.services.soft_checks import address_problems
from orders.services.timeline import timeline_entry


def _channels(merchant_id: int) -> dict[str, dict[str, Any]]:
    return {row["code"]: row for row in Channel.objects.filter(merchant_id=merchant_id).values()}


# Per process: every capture names its channel; a merchant's channels change rarely (oms.caches).
_CHANNELS = ProcessCache("orders.channels", _channels, invalidated_by=(Channel,))


def _channel(merchant: Merchant, code: str) -> Channel | None:
    """The merchant's channel `code`, active or not; a fresh instance (the cached row is shared)."""
    row = _CHANNELS.get(merchant.pk).get(code)
    return None if row is None else Channel(**row)


def _existing(merchant: Merchant, channel: Channel | None, external_id: str) -> Order | None:
    """The order already captured for this external id. Nearly every capture finds none, so it
    looks for the id alone (no ordering): the whole row costs Django more to build than to read."""
    if channel is None:
        return None
    ids = Order.objects.filter(merchant=merchant, channel_id=channel.pk, external_id=external_id).order_by()
    pk = next(iter(ids.values_list("pk", flat=True)[:1]), None)
    return None if pk is None else Order.objects.get(pk=pk)


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


def _resolve(
    merchant: Merchant, channel: Channel | None, data: dict[str, Any]
) -> tuple[Channel, dict[str, Product], Node | None]:
    errors: list[FieldError] = []
    if channel is None or not channel.active:
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


# One statement and no transaction of its own: blank details never erase known ones.
_CUSTOMER_UPSERT = """
    INSERT INTO orders_customer (merchant_id, email, phone, first_name, last_name, created_at)
    VALUES (%s, %s, %s, %s, %s, %s)
    ON CONFLICT (merchant_id, email) DO UPDATE SET
        phone = COALESCE(NULLIF(excluded.phone, ''), orders_customer.phone),
        first_name = COALESCE(NULLIF(excluded.first_name, ''), orders_customer.first_name),
        last_name = COALESCE(NULLIF(excluded.last_name, ''), orders_customer.last_name)
    RETURNING id
"""


def _customer(merchant: Merchant, contact: dict[str, Any]) -> Customer:
    """The customer of this e-mail, created or given the contact details the order brings."""
    given = {k: contact.get(k, "") for k in ("phone", "first_name", "last_name")}
    customer = Customer(merchant=merchant, email=contact["email"], created_at=timezone.now(), **given)
    with connection.cursor() as cursor:
        cursor.execute(_CUSTOMER_UPSERT, [merchant.pk, customer.email, *given.values(), customer.created_at])
        customer.pk = cursor.fetchone()[0]
    customer._state.adding = False
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
    the unique constraint, so exactly one order is ever created. When nothing held or cancelled
    the created order, it comes with its whole page in memory (`page_in_memory`, `_keep_page`).
    """
    channel = _channel(merchant, data["channel"])
    existing = _existing(merchant, channel, data["external_id"])
    if existing is not None:
        return _repeat(existing, fingerprint), False
    channel, products, pickup_node = _resolve(merchant, channel, data)
    number = f"{merchant.order_prefix}-{merchant_next_order_sequence(merchant):06d}"
    # Like the number, outside the transaction: the customer's row is locked for this statement
    # only, not while the capture runs (a capture that then fails keeps the customer's details).
    customer = _customer(merchant, data["customer"])
    try:
        with transaction.atomic():
            order = _create(merchant, channel, customer, products, pickup_node, data, number, actor, fingerprint)
    except IntegrityError:
        existing = _existing(merchant, channel, data["external_id"])
        if existing is None:
            raise
        return _repeat(existing, fingerprint), False
    return order, True


def _create(
    merchant: Merchant,
    channel: Channel,
    customer: Customer,
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
        customer=customer,
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
    captured = payments_record_at_capture(order=order, payments=payments, actor=actor)
    timeline = [
        timeline_entry(order, "receive", actor=actor, to_status=OrderStatus.RECEIVED),
        timeline_entry(
            order, "validate", actor=actor, from_status=OrderStatus.RECEIVED, to_status=OrderStatus.VALIDATED
        ),
    ]
    order.events.bulk_create(timeline)
    emit_many(
        [
            ("order.received", order, order_payload(order, status=OrderStatus.RECEIVED)),
            ("order.validated", order, order_payload(order)),
            *captured,
        ],
        merchant_id=merchant.pk,
    )
    problems = address_problems(order)
    for problem in problems:
        hold_place(order=order, type=Hold.Type.ADDRESS, reason=problem, actor=actor)
    # Fraud screening, the tax check, then the payment rule (orders/payments/intake.py).
    screened = order_after_validation(order=order, actor=actor, held=bool(problems))
    if screened.proceeds:
        _keep_page(order, timeline, screened.decision)
    return order


def _keep_page(order: Order, timeline: list[OrderEvent], decision: FraudDecision | None) -> None:
    """Leave in memory what order_get would load for the order page, from what this capture
    wrote: no hold or cancellation touched the order (it is still `validated`), so its timeline
    is the two rows above, and it has no holds and no refunds yet. A test compares the 201
    rendered from it with a GET of the same order (tests/orders/test_capture_queries.py)."""
    _cache_related(order, "holds", [])
    _cache_related(order, "events", timeline)
    _cache_related(order, "refunds", [])
    Order.fraud_decision.related.set_cached_value(order, decision)  # type: ignore[attr-defined]
    order.page_in_memory = True
