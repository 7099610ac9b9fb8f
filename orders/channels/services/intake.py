"""One channel order in: through the REST API's validation and capture service, or applied as
an update (cancel, amend) to the order already captured for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from oms.actors import Actor
from oms.alerts import exception_raise
from oms.api.errors import flatten
from oms.errors import Conflict, DomainError
from oms.idempotency import request_fingerprint
from orders.api.inputs import AddressIn, OrderIn
from orders.channels.connectors.base import Mapped
from orders.channels.models import ChannelConnection, ChannelSkuMap
from orders.models import Order, OrderStatus
from orders.services.amend import order_amend
from orders.services.cancel import order_cancel
from orders.services.capture import order_capture

CREATED, UPDATED, DUPLICATE, REJECTED = "created", "updated", "duplicate", "rejected"
# Changes that started on the channel carry this in their reason (and so do the refunds they
# cause): they are not pushed back to it.
CHANNEL_MARK = " on the channel ("


def channel_reason(what: str, name: str) -> str:
    return f"{what}{CHANNEL_MARK}{name})"


def from_channel(reason: str) -> bool:
    return CHANNEL_MARK in reason


TOO_LATE = "channel_update_too_late"


@dataclass
class Outcome:
    result: str
    errors: list[dict[str, Any]] = field(default_factory=list)


def channel_actor(connection: ChannelConnection) -> Actor:
    return Actor.system(f"channel sync {connection.channel.code}")


def sku_map_learn(*, connection: ChannelConnection, learned: dict[str, dict[str, str]]) -> None:
    """Record the platform ids seen on an order; ids already known (or edited) are kept."""
    if not learned:
        return
    known = set(ChannelSkuMap.objects.filter(connection=connection, sku__in=learned).values_list("sku", flat=True))
    ChannelSkuMap.objects.bulk_create(
        [ChannelSkuMap(connection=connection, sku=sku, **ids) for sku, ids in learned.items() if sku not in known],
        ignore_conflicts=True,
    )


def channel_order_take(*, connection: ChannelConnection, mapped: Mapped) -> Outcome:
    """Capture a mapped channel order exactly once, or apply it as an update to the captured one."""
    outcome = _take(connection, mapped)
    if outcome.result != REJECTED:  # a rejected order may name SKUs the merchant does not sell
        sku_map_learn(connection=connection, learned=mapped.learned)
    return outcome


def _take(connection: ChannelConnection, mapped: Mapped) -> Outcome:
    if mapped.errors:
        return Outcome(REJECTED, mapped.errors)
    existing = _existing(connection, mapped.external_id)
    if existing is not None:
        return _update(connection, existing, mapped)
    if mapped.cancelled:
        return Outcome(REJECTED, [{"field": None, "code": "cancelled", "message": "Cancelled on the channel."}])
    serializer = OrderIn(data=mapped.data)
    if not serializer.is_valid():
        return Outcome(REJECTED, flatten(serializer.errors))
    data = {**serializer.validated_data, "channel_order_name": mapped.name}
    try:
        _, created = order_capture(
            merchant=connection.merchant,
            data=data,
            actor=channel_actor(connection),
            fingerprint=request_fingerprint(mapped.data),
        )
    except Conflict:
        # Captured meanwhile (a webhook and a pull) from another version of the order.
        order = _existing(connection, mapped.external_id)
        assert order is not None
        return _update(connection, order, mapped)
    except DomainError as exc:
        return Outcome(REJECTED, [e.as_dict() for e in exc.errors])
    return Outcome(CREATED if created else DUPLICATE)


def _existing(connection: ChannelConnection, external_id: str) -> Order | None:
    return Order.objects.filter(
        merchant_id=connection.merchant_id, channel_id=connection.channel_id, external_id=external_id
    ).first()


def _too_late(connection: ChannelConnection, order: Order, what: str, exc: DomainError) -> Outcome:
    exception_raise(
        type=TOO_LATE,
        subject=order,
        message=f"{connection.channel} {what} order {order.number} ({order.channel_order_name}), "
        f"but the OMS cannot apply it: {exc.message}",
        merchant=connection.merchant,
    )
    return Outcome(REJECTED, [{"field": None, "code": "too_late", "message": exc.message}])


def _update(connection: ChannelConnection, order: Order, mapped: Mapped) -> Outcome:
    """Apply what changed on the channel through the cancel and amend services."""
    actor = channel_actor(connection)
    if mapped.cancelled:
        if order.status == OrderStatus.CANCELLED:
            return Outcome(DUPLICATE)
        try:
            order_cancel(order=order, actor=actor, reason=channel_reason("Cancelled", mapped.name))
        except DomainError as exc:
            return _too_late(connection, order, "cancelled", exc)
        return Outcome(UPDATED)
    raw_address = mapped.data.get("shipping_address")
    if not raw_address:
        return Outcome(DUPLICATE)
    serializer = AddressIn(data=raw_address)
    if not serializer.is_valid():
        return Outcome(REJECTED, flatten(serializer.errors, "shipping_address"))
    address = dict(serializer.validated_data)
    if address == order.shipping_address:
        return Outcome(DUPLICATE)
    try:
        order_amend(order=order, changes={"shipping_address": address}, actor=actor)
    except DomainError as exc:
        return _too_late(connection, order, "changed the address of", exc)
    return Outcome(UPDATED)
