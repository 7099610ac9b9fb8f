"""One channel order in: through the REST API's validation and capture service, or applied as
an update (cancel, amend) to the order already captured for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from oms.actors import Actor
from oms.alerts import exception_raise
from oms.api.errors import flatten
from oms.errors import Conflict, DomainError
from oms.idempotency import request_fingerprint
from orders.api.inputs import AddressIn, OrderIn
from orders.channels.connectors.base import Mapped
from orders.channels.models import ChannelConnection, ChannelSkuMap
from orders.models import AMENDABLE, Order, OrderLine, OrderStatus
from orders.services.amend import order_amend
from orders.services.amend_lines import LineChange, order_lines_amend
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
    outcomes = [_update_lines(connection, order, mapped, actor), _update_address(connection, order, mapped, actor)]
    for result in (REJECTED, UPDATED):
        found = [o for o in outcomes if o.result == result]
        if found:
            return Outcome(result, [e for o in found for e in o.errors])
    return Outcome(DUPLICATE)


def _update_address(connection: ChannelConnection, order: Order, mapped: Mapped, actor: Actor) -> Outcome:
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


def _update_lines(connection: ChannelConnection, order: Order, mapped: Mapped, actor: Actor) -> Outcome:
    """A quantity changed or a line removed (or added) on the channel: amended while the order may
    be amended; after that only reductions, as partial cancellations (until it has all shipped)."""
    if any(not line.get("sku") for line in mapped.data.get("lines") or []):
        # A line we cannot name would read as removed: change nothing rather than cancel it.
        message = "A line's SKU is not known (SKU map); its quantity cannot be compared."
        return Outcome(REJECTED, [{"field": "lines", "code": "unknown_sku", "message": message}])
    wanted = mapped.units()
    lines = list(order.lines.order_by("position"))
    changes, cancels, increases = line_changes(lines, wanted, mapped.data.get("lines") or [])
    if not changes:
        return Outcome(DUPLICATE)
    try:
        if order.status in AMENDABLE:
            order_lines_amend(order=order, changes=changes, actor=actor, reason=channel_reason("Changed", mapped.name))
        elif increases:
            raise Conflict(
                f"Order {order.number} is {order.status}; units can no longer be added.", code="invalid_state"
            )
        else:
            order_cancel(order=order, actor=actor, reason=channel_reason("Cancelled", mapped.name), lines=cancels)
    except DomainError as exc:
        return _too_late(connection, order, "changed the lines of", exc)
    return Outcome(UPDATED)


def line_changes(
    lines: list[OrderLine], wanted: dict[str, int], mapped_lines: list[dict[str, Any]]
) -> tuple[list[LineChange], list[dict[str, int]], bool]:
    """What makes the order's live units per SKU what the channel now says: the amendment's line
    changes, the same as cancellations (the reductions alone), and whether any unit is added."""
    changes: list[LineChange] = []
    cancels: list[dict[str, int]] = []
    increases = False
    by_sku: dict[str, list[OrderLine]] = {}
    for line in lines:
        by_sku.setdefault(line.sku, []).append(line)
    for sku, own in by_sku.items():
        left = wanted.get(sku, 0)
        for i, line in enumerate(own):
            live = line.quantity - line.qty_cancelled
            # Earlier lines of the SKU keep what they can; the last one takes what is left.
            target = left if i == len(own) - 1 else min(live, left)
            left -= target
            if target != live:
                changes.append({"line": line.pk, "quantity": target})
                increases |= target > live
                if target < live:
                    cancels.append({"line": line.pk, "quantity": live - target})
    prices = {str(item.get("sku")): item.get("unit_price") for item in mapped_lines}
    for sku, quantity in wanted.items():
        if sku not in by_sku and quantity > 0:
            changes.append({"sku": sku, "quantity": quantity, "unit_price": Decimal(str(prices.get(sku) or 0))})
            increases = True
    return changes, cancels, increases
