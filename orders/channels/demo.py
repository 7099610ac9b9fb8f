"""Demo channel sync: a Shopify connection on the `shop` channel that took one order by webhook
(its sync run, the stored webhooks, the SKU ids it learned) and has an availability push waiting.

No shop runs behind it, so the demo leaves it inactive: never pulled, its push not sent (an
inactive connection's pushes wait), nothing leaves the machine. Pointing `base_url` at a shop
and switching it on makes it live.
"""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import transaction

from inventory.models import Product
from oms.models import Channel, Merchant
from orders.channels.connectors.base import hmac_base64
from orders.channels.models import ChannelConnection, ChannelPush
from orders.channels.services.connections import connection_create, connection_update
from orders.channels.services.pushes import channel_push_queue
from orders.channels.services.sync import channel_webhook_process
from orders.channels.services.webhooks import channel_webhook_receive

SECRET = "demo-shopify-app-secret"
SKU = "MUG-WHITE"


def _shopify_order(product: Product, price: Decimal) -> dict[str, object]:
    """One order as Shopify's webhook carries it (the fields the connector reads)."""
    tax = (price * Decimal("0.0875")).quantize(Decimal("0.01"))
    address = {"first_name": "Mia", "last_name": "Wong", "address1": "1 Ferry Building", "city": "San Francisco",
               "province_code": "CA", "zip": "94111", "country_code": "US"}  # fmt: skip
    return {
        "id": 5600000000101, "name": "#1101", "email": "mia.wong@example.com", "currency": "USD",
        "created_at": "2026-11-20T10:00:00Z", "updated_at": "2026-11-20T10:05:00Z", "cancelled_at": None,
        "financial_status": "paid", "taxes_included": False, "total_price": str(price + tax + Decimal("5.00")),
        "customer": {"email": "mia.wong@example.com", "first_name": "Mia", "last_name": "Wong", "phone": None},
        "shipping_address": address, "billing_address": address,
        "line_items": [{"id": 13000000000101, "variant_id": 44000000000101, "product_id": 8000000000101,
                        "sku": product.sku, "quantity": 1, "price": str(price), "total_discount": "0.00",
                        "tax_lines": [{"price": str(tax)}]}],
        "shipping_lines": [{"code": "standard", "price": "5.00", "tax_lines": []}],
    }  # fmt: skip


def _deliver(connection: ChannelConnection, body: bytes, webhook_id: str, topic: str) -> None:
    headers = {"X-Shopify-Hmac-Sha256": hmac_base64(SECRET, body), "X-Shopify-Webhook-Id": webhook_id,
               "X-Shopify-Topic": topic}  # fmt: skip
    row = channel_webhook_receive(connection_uuid=str(connection.uuid), body=body, headers=headers)
    if row is not None:
        channel_webhook_process(webhook_id=row)


def seed_channels(merchant: Merchant, products: dict[str, Product], prices: dict[str, Decimal]) -> None:
    channel = Channel.objects.get(merchant=merchant, code="shop")
    if ChannelConnection.objects.filter(channel=channel).exists():
        return
    product = products[SKU]
    with transaction.atomic():
        connection = connection_create(
            merchant=merchant, channel=channel, kind=ChannelConnection.Kind.SHOPIFY, base_url="http://127.0.0.1:9/demo-shop",
            credentials={"token": "shpat_demo", "webhook_secret": SECRET},
            options={"service_levels": {"standard": "standard", "express": "express"}},
        )  # fmt: skip
        order = json.dumps(_shopify_order(product, prices[SKU.split("-")[0]])).encode()
        _deliver(connection, order, "demo-wh-1", "orders/create")  # taken: a sync run that created it
        _deliver(connection, order, "demo-wh-2", "orders/updated")  # the same order again: a duplicate
        _deliver(connection, b'{"id": 8000000000101}', "demo-wh-3", "products/update")  # not an order
        # Switched off before its outbox events are relayed: no push is written or sent for them.
        connection_update(connection=connection, changes={"active": False})
        channel_push_queue(connection=connection, kind=ChannelPush.Kind.AVAILABILITY, payload={"skus": [product.sku]})
