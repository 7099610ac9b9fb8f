"""Reads: products, nodes, stock, the ledger, availability (ATP and safe-to-promise)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypedDict

from django.db.models import Expression, F, Max, Q, QuerySet, Sum, Value
from django.db.models.functions import Greatest

from inventory.geocoding import GeoPoint, distance_km
from inventory.models import ChannelRule, Movement, Node, Product, Snapshot, StockLevel
from oms.caches import ProcessCache
from oms.errors import NotFound
from oms.models import Channel, Merchant


def product_list(*, merchant: Merchant) -> QuerySet[Product]:
    return Product.objects.filter(merchant=merchant).order_by("sku")


def product_get(*, merchant: Merchant, sku: str) -> Product:
    product = Product.objects.filter(merchant=merchant, sku=sku).first()
    if product is None:
        raise NotFound(f"No product with SKU '{sku}'.")
    return product


def node_list(*, merchant: Merchant) -> QuerySet[Node]:
    """Return the nodes that serve the merchant or that it owns."""
    ids = Node.objects.filter(Q(merchants=merchant) | Q(owner=merchant)).values("pk")
    return Node.objects.filter(pk__in=ids).select_related("owner").order_by("code")


def node_get(*, merchant: Merchant, code: str) -> Node:
    node = node_list(merchant=merchant).filter(code=code).first()
    if node is None:
        raise NotFound(f"No node '{code}'.", field="node")
    return node


def snapshot_get(*, merchant: Merchant, external_id: str) -> Snapshot:
    snapshot = Snapshot.objects.filter(merchant=merchant, external_id=external_id).select_related("node").first()
    if snapshot is None:
        raise NotFound(f"No snapshot '{external_id}'.")
    return snapshot


def ledger_for(*, stock: StockLevel) -> QuerySet[Movement]:
    return Movement.objects.filter(stock=stock).order_by("id")


@dataclass(frozen=True)
class AuditDiscrepancy:
    stock_id: int
    sku: str
    node: str
    on_hand: int
    ledger_on_hand: int
    allocated: int
    ledger_allocated: int


def stock_audit() -> list[AuditDiscrepancy]:
    """Return every stock row whose on_hand or allocated differs from the sums of its movements."""
    sums = {
        row["stock_id"]: (row["on_hand"] or 0, row["allocated"] or 0)
        for row in Movement.objects.values("stock_id").annotate(
            on_hand=Sum("on_hand_delta"), allocated=Sum("allocated_delta")
        )
    }
    out = []
    rows = StockLevel.objects.values_list("pk", "product__sku", "node__code", "on_hand", "allocated").order_by("pk")
    for pk, sku, node, on_hand, allocated in rows.iterator(chunk_size=5000):
        ledger_on_hand, ledger_allocated = sums.get(pk, (0, 0))
        if (on_hand, allocated) != (ledger_on_hand, ledger_allocated):
            out.append(AuditDiscrepancy(pk, sku, node, on_hand, ledger_on_hand, allocated, ledger_allocated))
    return out


# --- ATP: the one definition -----------------------------------------------------------------


class StockFigures(Protocol):
    on_hand: int
    allocated: int
    safety_stock: int


def stock_atp(stock: StockFigures) -> int:
    """Available to promise: on hand, less what is reserved and the safety stock. Never below
    zero: a safety stock above what is unreserved leaves nothing, not a debt that would eat
    into another node's units when figures are summed."""
    return max(stock.on_hand - stock.allocated - stock.safety_stock, 0)


def atp_expression(
    on_hand: Expression | str = "on_hand", allocated: Expression | str = "allocated",
    safety_stock: Expression | str = "safety_stock",
) -> Greatest:  # fmt: skip
    """`stock_atp` in SQL, for annotations and ordering; expressions in place of the field names
    apply it to sums of the ledger (stock as it was at a moment)."""
    have, reserved, safety = (F(x) if isinstance(x, str) else x for x in (on_hand, allocated, safety_stock))
    return Greatest(have - reserved - safety, Value(0))


def atp_by_node(
    *, product_ids: Iterable[int], node_ids: Iterable[int], as_of: datetime | None = None
) -> dict[tuple[int, int], int]:
    """ATP per (product id, node id) of the stock rows there are: live, or as the ledger had
    on_hand and allocated before `as_of` (routing's simulation; today's safety stock)."""
    product_ids, node_ids = list(product_ids), list(node_ids)
    if not product_ids or not node_ids:
        return {}
    levels = StockLevel.objects.filter(product_id__in=product_ids, node_id__in=node_ids)
    if as_of is None:
        rows = levels.annotate(atp=atp_expression()).values_list("product_id", "node_id", "atp")
    else:
        rows = (
            Movement.objects.filter(stock__in=levels, created_at__lt=as_of)
            .values("stock__product_id", "stock__node_id")
            .annotate(atp=atp_expression(Sum("on_hand_delta"), Sum("allocated_delta"), Max("stock__safety_stock")))
            .values_list("stock__product_id", "stock__node_id", "atp")
        )
    return {(product_id, node_id): atp for product_id, node_id, atp in rows}


# --- availability ------------------------------------------------------------------------------

DEFAULT_NODE_TYPES = [Node.Type.DC, Node.Type.DROPSHIP, Node.Type.STORE]
DEFAULT_STORE_CAPABILITIES = [Node.Capability.SHIP_FROM_STORE]


@dataclass(frozen=True)
class Rule:
    """A channel's availability rule (defaults when the merchant has set none)."""

    node_types: list[str]
    store_capabilities: list[str]
    buffer_type: str = ChannelRule.BufferType.FIXED
    buffer_value: Decimal = Decimal(0)

    def counts(self, node_type: str, capabilities: list[str]) -> bool:
        if node_type not in self.node_types:
            return False
        if node_type == Node.Type.STORE:
            return any(c in capabilities for c in self.store_capabilities)
        return True

    def safe_to_promise(self, atp: int) -> int:
        if self.buffer_type == ChannelRule.BufferType.PERCENT:
            held = math.ceil(atp * self.buffer_value / 100)
        else:
            held = int(self.buffer_value)
        return max(atp - held, 0)


def _rule_of(channel_id: int) -> Rule:
    rule = ChannelRule.objects.filter(channel_id=channel_id).first()
    if rule is None:
        return Rule(list(DEFAULT_NODE_TYPES), list(DEFAULT_STORE_CAPABILITIES))
    return Rule(list(rule.node_types), list(rule.store_capabilities), rule.buffer_type, rule.buffer_value)


# Per process: routing reads the order's channel rule for every allocation.
_RULES = ProcessCache("inventory.channel_rules", _rule_of, invalidated_by=(ChannelRule,))


def channel_rule(*, channel: Channel | int) -> Rule:
    """The channel's availability rule (shared: treat it as read-only)."""
    return _RULES.get(channel if isinstance(channel, int) else channel.pk)


def promisable(
    *, channel: Channel | int, atp: Mapping[tuple[int, int], int], nodes: Iterable[tuple[int, str, list[str]]]
) -> dict[int, int]:
    """Units of each product that orders from the channel may take in total from these nodes
    (id, type, capabilities), for the products whose buffer withholds any: their ATP less the
    units the channel's buffer withholds from the safe-to-promise that `availability` shows it.
    Routing caps what it places with this, so it never promises what the channel was not shown."""
    rule = channel_rule(channel=channel)
    counted = {pk for pk, node_type, capabilities in nodes if rule.counts(node_type, capabilities or [])}
    total: dict[int, int] = defaultdict(int)
    seen: dict[int, int] = defaultdict(int)
    for (product_id, node_id), units in atp.items():
        total[product_id] += units
        if node_id in counted:
            seen[product_id] += units
    out = {}
    for product_id, units in total.items():
        withheld = seen[product_id] - rule.safe_to_promise(seen[product_id])
        if withheld:
            out[product_id] = units - withheld
    return out


class NodeAvailability(TypedDict):
    node: str
    type: str
    atp: int
    distance_km: float | None


@dataclass(slots=True)
class SkuAvailability:
    sku: str
    product_id: int
    atp: int
    safe_to_promise: int
    nodes: list[NodeAvailability] = field(default_factory=list)


def availability(
    *,
    merchant: Merchant,
    products: list[Product],
    channel: Channel | None = None,
    destination: GeoPoint | None = None,
) -> list[SkuAvailability]:
    """Return per product: total ATP, ATP per node, and safe-to-promise for the channel.

    Only the merchant's active nodes count, and with a channel only those its rule counts
    (stores only where ship-from-store or pick-up is enabled for the channel). Without a
    channel, safe-to-promise equals ATP. With a known destination, nodes come nearest first
    (nodes without coordinates last), otherwise by code.
    """
    rule = channel_rule(channel=channel) if channel is not None else None
    nodes: list[tuple[int, str, str, float | None]] = []
    for pk, code, node_type, capabilities, lat, lng in (
        node_list(merchant=merchant)
        .filter(active=True)
        .values_list("pk", "code", "type", "capabilities", "latitude", "longitude")
    ):
        if rule is not None and not rule.counts(node_type, capabilities or []):
            continue
        distance = None
        if destination is not None and destination.known and lat is not None and lng is not None:
            distance = round(distance_km(destination.latitude, destination.longitude, float(lat), float(lng)), 1)  # type: ignore[arg-type]
        nodes.append((pk, code, node_type, distance))
    # Every SKU lists its nodes in the same order: sort the nodes once, not each SKU's list.
    nodes.sort(key=lambda n: (n[3] is None, n[3] or 0.0, n[1]))
    per_product: dict[int, dict[int, int]] = defaultdict(dict)
    found = atp_by_node(product_ids=[p.pk for p in products], node_ids=[n[0] for n in nodes])
    for (product_id, node_id), atp in found.items():
        per_product[product_id][node_id] = atp
    out = []
    for product in products:
        held = per_product.get(product.pk, {})
        listed: list[NodeAvailability] = [
            {"node": code, "type": node_type, "atp": held[pk], "distance_km": distance}
            for pk, code, node_type, distance in nodes
            if pk in held
        ]
        atp = sum(held.values())
        stp = rule.safe_to_promise(atp) if rule is not None else atp
        out.append(SkuAvailability(product.sku, product.pk, atp, stp, listed))
    return out
