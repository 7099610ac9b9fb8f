from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from fulfillment.demo import seed_fulfillment
from fulfillment.routing.demo import seed_routing
from inventory.demo import PRICES, seed_catalog, seed_network, seed_stock
from oms.demo import seed_tenancy
from orders.demo import seed_orders
from returns.demo import seed_returns


class Command(BaseCommand):
    help = "Load the demo merchant, network, catalogue, stock, carriers, routing policy, users and orders. Idempotent."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            merchant = seed_tenancy()
            nodes = seed_network(merchant)
            products = seed_catalog(merchant)
            seed_stock(nodes, products)
            seed_fulfillment(merchant)
            seed_routing(merchant, products)
            seed_returns(merchant)
        created = seed_orders(merchant, products, PRICES)
        self.stdout.write(f"Demo data ready: merchant 'demo', {len(products)} SKUs, {created} new orders.")
