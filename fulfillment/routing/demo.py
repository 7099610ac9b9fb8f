"""Demo data for routing: a policy, nodes that ship, and stock to route (idempotent).

`seed_routing(merchant, products)` is meant for `manage.py seed_demo`, after the network and the
catalogue and before the orders, so the demo orders are allocated by the routing job.
"""

from __future__ import annotations

import random

from fulfillment.routing.models import RoutingPolicy
from fulfillment.routing.services import policy_create
from inventory.models import Node, Product, StockLevel
from inventory.services import node_update, stock_receive
from oms.actors import Actor
from oms.models import Merchant

DEMO = Actor.system("demo")
POLICY = {
    "strategies": [
        {
            "name": "Marketplace from DCs, ship complete",
            "conditions": {"channels": ["marketplace"]},
            "filters": {"node_types": ["dc"]},
            "ranking": {"weights": {"cost": 1, "speed": 1, "distance": 0.5}},
            "ship_complete": True,
            "failure_action": "next_strategy",
        },
        {
            "name": "Nearest with stock, stores keep 2",
            "filters": {"store_guardrail": 2},
            "ranking": {"weights": {"cost": 1, "speed": 1, "distance": 1, "load": 0.25},
                        "priority_groups": {"dc": 1, "store": 2, "dropship": 3}},
            "max_shipments": 2,
            "failure_action": "backorder",
        },
    ]
}  # fmt: skip


def seed_routing(merchant: Merchant, products: dict[str, Product]) -> None:
    for node in Node.objects.filter(merchants=merchant).order_by("code"):
        changes: dict[str, object] = {}
        if not node.ships_to:
            changes["ships_to"] = ["US"]
        if node.type == Node.Type.STORE and "ship_from_store" not in node.capabilities:
            changes["capabilities"] = [*node.capabilities, "ship_from_store"]
        if changes:
            node_update(merchant=None, node=node, data=changes)
        if StockLevel.objects.filter(node=node).exists():
            continue
        rng = random.Random(node.code)
        for sku in sorted(products):
            quantity = rng.choice([0, 0, 3, 8, 20]) if node.type == Node.Type.STORE else rng.choice([0, 40, 120])
            if quantity:
                stock_receive(product=products[sku], node=node, quantity=quantity, actor=DEMO, reason="demo stock")
    if not RoutingPolicy.objects.filter(merchant=merchant).exists():
        policy_create(merchant=merchant, name="Standard", document=POLICY, actor=DEMO)
