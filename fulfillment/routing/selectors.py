"""Reads for routing: the planner's inputs (a handful of set-based queries per order), the
merchant's policy, and decisions for the admin and the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from fulfillment.routing.models import (
    NodeDailyLoad,
    RoutingDecision,
    RoutingExclusion,
    RoutingPolicy,
    RoutingPolicyVersion,
    SkuNodeRule,
)
from fulfillment.routing.planner import LineInfo, Network, NodeInfo, OrderInfo, _zone
from fulfillment.routing.spec import DEFAULT_POLICY, DropShipSpec, PolicySpec, strategy_from_row
from inventory.geocoding import geocode
from inventory.models import Node
from inventory.selectors import atp_by_node, node_list, promisable
from oms.caches import ProcessCache
from oms.errors import NotFound
from oms.models import Merchant
from orders.models import Order, OrderLine

NODE_FIELDS = (
    "pk", "code", "type", "capabilities", "ships_to", "country", "region", "latitude", "longitude", "tags",
    "daily_capacity", "cutoff_time", "time_zone", "handling_cost", "priority",
)  # fmt: skip


def policy_version_current(*, merchant_id: int) -> RoutingPolicyVersion | None:
    """The newest version of the merchant's active policy, with its strategies and rules."""
    return (
        RoutingPolicyVersion.objects.filter(policy__merchant_id=merchant_id, policy__active=True)
        .select_related("policy")
        .prefetch_related("strategies", "dropship_rules__node")
        .order_by("-number")
        .first()
    )


def policy_spec(version: RoutingPolicyVersion | None) -> PolicySpec:
    if version is None:
        return DEFAULT_POLICY
    return PolicySpec(
        label=str(version),
        strategies=tuple(strategy_from_row(row) for row in sorted(version.strategies.all(), key=lambda r: r.position)),
        dropship=tuple(DropShipSpec(node_code=r.node.code, sku=r.sku, tag=r.tag) for r in version.dropship_rules.all()),
        version_id=version.pk,
    )


def _policy_load(merchant_id: int) -> tuple[int | None, PolicySpec]:
    version = policy_version_current(merchant_id=merchant_id)
    return (version.pk if version else None), policy_spec(version)


# Per process, per merchant (oms.caches): a new version or a change of the active policy
# invalidates it. Versions never change once saved.
_POLICIES: ProcessCache[int, tuple[int | None, PolicySpec]] = ProcessCache(
    "routing.policy", _policy_load, invalidated_by=(RoutingPolicy, RoutingPolicyVersion)
)


def policy_current(*, merchant_id: int) -> tuple[int | None, PolicySpec]:
    """(version id, spec) of the policy routing applies to the merchant now."""
    return _POLICIES.get(merchant_id)


def _nodes_load(merchant_id: int) -> list[tuple[Any, ...]]:
    return list(node_list(merchant=Merchant(pk=merchant_id)).filter(active=True).values_list(*NODE_FIELDS))


def _blocked_load(merchant_id: int) -> frozenset[tuple[int, int]]:
    rules = SkuNodeRule.objects.filter(product__merchant_id=merchant_id, may_route=False)
    return frozenset(rules.values_list("product_id", "node_id"))


# The merchant's active nodes and its SKUs' routing flags: read for every order, changed rarely.
_NODES: ProcessCache[int, list[tuple[Any, ...]]] = ProcessCache("routing.nodes", _nodes_load, invalidated_by=(Node,))
_BLOCKED: ProcessCache[int, frozenset[tuple[int, int]]] = ProcessCache(
    "routing.sku_rules", _blocked_load, invalidated_by=(SkuNodeRule,)
)


def open_quantities(lines: Iterable[OrderLine]) -> dict[int, int]:
    """Units of each line no node holds yet: ordered - cancelled - shipped - allocated."""
    return {line.pk: max(line.qty_open - line.qty_allocated, 0) for line in lines}


def order_info(order: Order, lines: list[OrderLine], quantities: dict[int, int]) -> OrderInfo:
    address = order.shipping_address or {}
    if order.fulfillment_type == "pickup" and order.pickup_node is not None and not address:
        node = order.pickup_node
        address = {"country": node.country, "region": node.region, "postal_code": node.postal_code}
    country = (address.get("country") or "").upper()
    region = (address.get("region") or "").upper()
    postal = address.get("postal_code") or ""
    tags = {line.product_id: line.product.tags for line in lines}  # lines come with their product
    return OrderInfo(
        id=order.pk,
        number=order.number,
        channel=order.channel.code,
        service_level=order.service_level,
        fulfillment_type=order.fulfillment_type,
        country=country,
        region=region,
        postal_code=postal,
        point=geocode(country=country, region=region, postal_code=postal),
        value=order.total,
        promise_date=order.promise_date,
        lines=tuple(
            LineInfo(
                id=line.pk,
                product_id=line.product_id,
                sku=line.sku,
                quantity=quantities.get(line.pk, 0),
                bundle=line.bundle,
                tags=frozenset(tags.get(line.product_id) or ()),
            )
            for line in sorted(lines, key=lambda line: line.position)
        ),
        pickup_node_id=order.pickup_node_id,
    )


def _local_day(now: datetime, time_zone: str) -> date:
    return now.astimezone(_zone(time_zone)).date()


@dataclass(frozen=True)
class StockAsOf:
    """Stock to plan against: the live rows, or as the ledger had it at a moment (simulation)."""

    at: datetime | None = None


def network_for(
    *, merchant: Merchant | int, product_ids: Iterable[int], now: datetime, order_id: int | None = None,
    channel_id: int | None = None, stock: StockAsOf = StockAsOf(), exclusions: bool = True,
) -> Network:  # fmt: skip
    """Everything the planner needs about the merchant's network for these products (the nodes,
    the policy and the SKU flags from per-process caches; stock, today's loads and the order's
    excluded nodes read live); with the order's channel, what its availability buffer leaves
    routing to promise. `exclusions=False`: the order has never been sent to a node, so no node
    can have rejected it."""
    merchant_id = merchant.pk if isinstance(merchant, Merchant) else merchant
    rows = _NODES.get(merchant_id)
    product_ids = list(set(product_ids))
    node_ids = [r[0] for r in rows]
    capped = {r[0]: r[12] for r in rows if r[10] is not None}
    used: dict[int, int] = {}
    if capped and stock.at is not None:
        used = loads_at(node_ids=capped, at=stock.at)
    elif capped:
        days = {_local_day(now, tz) for tz in capped.values()}
        for node_id, day, count in NodeDailyLoad.objects.filter(node_id__in=list(capped), day__in=days).values_list(
            "node_id", "day", "orders"
        ):
            if day == _local_day(now, capped[node_id]):
                used[node_id] = count
    nodes = tuple(
        NodeInfo(
            id=pk,
            code=code,
            type=node_type,
            capabilities=frozenset(capabilities or ()),
            ships_to=frozenset(ships_to or ()),
            country=country or "",
            region=region or "",
            latitude=float(lat) if lat is not None else None,
            longitude=float(lng) if lng is not None else None,
            tags=frozenset(tags or ()),
            daily_capacity=capacity,
            used_today=used.get(pk, 0),
            cutoff=cutoff,
            time_zone=tz or "UTC",
            handling_cost=handling or Decimal(0),
            priority=priority,
        )
        for (pk, code, node_type, capabilities, ships_to, country, region, lat, lng, tags, capacity, cutoff, tz,
             handling, priority) in rows
    )  # fmt: skip
    atp = atp_by_node(product_ids=product_ids, node_ids=node_ids, as_of=stock.at)
    caps: dict[int, int] = {}
    if channel_id is not None:
        caps = promisable(channel=channel_id, atp=atp, nodes=[(r[0], r[2], r[3]) for r in rows])
    blocked = _BLOCKED.get(merchant_id)
    excluded: dict[int, str] = {}
    if order_id is not None and exclusions:
        excluded = dict(RoutingExclusion.objects.filter(order_id=order_id).values_list("node_id", "reason"))
    return Network(nodes=nodes, atp=atp, blocked=blocked, excluded=excluded, promisable=caps)


def loads_at(*, node_ids: Iterable[int], at: datetime) -> dict[int, int]:
    """Fulfilment orders each node had taken on the (UTC) day of `at`, before it (simulation)."""
    from fulfillment.models import FulfillmentOrder

    day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return dict(
        FulfillmentOrder.objects.filter(node_id__in=list(node_ids), created_at__gte=day_start, created_at__lt=at)
        .values("node_id")
        .annotate(n=Count("id"))
        .values_list("node_id", "n")
    )


# --- decisions -----------------------------------------------------------------------------------


def decisions_of(*, order: Order) -> QuerySet[RoutingDecision]:
    return (
        RoutingDecision.objects.filter(order=order)
        .select_related("policy_version__policy")
        .prefetch_related(Prefetch("fulfillment_orders", to_attr="created_fulfillment_orders"))
        .order_by("created_at", "id")
    )


def order_routing(*, merchant: Merchant, number: str) -> tuple[Order, list[RoutingDecision]]:
    """The order's routing decisions, oldest first; another merchant's order is NotFound."""
    order = Order.objects.filter(merchant=merchant, number=number).first()
    if order is None:
        raise NotFound(f"No order {number}.")
    return order, list(decisions_of(order=order))


def node_codes(ids: Iterable[int]) -> dict[int, str]:
    return dict(Node.objects.filter(pk__in=list(ids)).values_list("pk", "code"))


def decision_summary(decision: RoutingDecision) -> dict[str, Any]:
    """A compact row for lists (the admin's decision table)."""
    return {
        "id": decision.pk,
        "at": decision.created_at,
        "trigger": decision.trigger,
        "outcome": decision.outcome,
        "policy": decision.policy_label,
        "strategy": decision.strategy,
        "nodes": decision.nodes,
        "explanation": decision.explanation,
    }
