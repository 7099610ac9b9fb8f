"""Reads: products, nodes, stock, the ledger, availability (ATP and safe-to-promise)."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypedDict

from django.db.models import Q, QuerySet, Sum

from inventory.geocoding import GeoPoint, distance_km
from inventory.models import ChannelRule, Movement, Node, Product, Snapshot, StockLevel
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


def channel_rule(*, channel: Channel) -> Rule:
    rule = ChannelRule.objects.filter(channel=channel).first()
    if rule is None:
        return Rule(list(DEFAULT_NODE_TYPES), list(DEFAULT_STORE_CAPABILITIES))
    return Rule(list(rule.node_types), list(rule.store_capabilities), rule.buffer_type, rule.buffer_value)


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
    if nodes:
        rows = StockLevel.objects.filter(product__in=products, node_id__in=[n[0] for n in nodes]).values_list(
            "product_id", "node_id", "on_hand", "allocated", "safety_stock"
        )
        for product_id, node_id, on_hand, allocated, safety in rows:
            per_product[product_id][node_id] = max(on_hand - allocated - safety, 0)
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
