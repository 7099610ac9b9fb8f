from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from fulfillment.demo import seed_fulfillment
from fulfillment.demo_activity import seed_fulfillment_activity
from fulfillment.routing.demo import seed_routing
from inventory.demo import PRICES, seed_catalog, seed_network, seed_stock, seed_stock_activity
from notifications.demo import seed_notifications
from oms.celery import app as celery_app
from oms.demo import seed_exception_policy, seed_login_activity, seed_schedule, seed_tenancy
from orders.channels.demo import seed_channels
from orders.demo import seed_exception_orders, seed_order_settings, seed_orders
from reports.demo import seed_reports
from returns.demo import seed_return_activity, seed_returns


class Command(BaseCommand):
    help = "Load the demo merchant, network, catalogue, stock, carriers, routing policy, users and orders. Idempotent."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--users",
            action="store_true",
            help="Also create the demo logins (published passwords) on a real database; "
            "the embedded default (SQLite) always gets them.",
        )

    def handle(self, *args: Any, users: bool = False, **options: Any) -> None:
        # Every job the orders set off (routing, e-mails, webhooks) runs here, in-process: the demo
        # data shows every screen's rows (shipments, backorders, exceptions...) without a worker.
        celery_app.conf.task_always_eager = True
        with transaction.atomic():
            merchant = seed_tenancy(users=users or settings.EMBEDDED_DATABASE)
            nodes = seed_network(merchant)
            products = seed_catalog(merchant)
            seed_stock(nodes, products)
            seed_fulfillment(merchant)
            seed_routing(merchant, products)
            seed_returns(merchant)
            seed_order_settings(merchant)
            seed_notifications(merchant)
            seed_schedule()
            seed_exception_policy()
        created = seed_orders(merchant, products, PRICES)
        created += seed_exception_orders(merchant, products, PRICES)
        seed_channels(merchant, products, PRICES)
        seed_stock_activity(merchant)
        seed_fulfillment_activity(merchant)
        seed_return_activity(merchant)
        # Last: the nightly jobs' figures cover everything above.
        seed_reports(merchant)
        seed_login_activity()
        self.stdout.write(f"Demo data ready: merchant 'demo', {len(products)} SKUs, {created} new orders.")
