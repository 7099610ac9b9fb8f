"""Webhook intake: signature first, one row per delivery id, the order taken once."""

from __future__ import annotations

import json
import uuid

import pytest

from orders.channels.connectors.base import hmac_base64
from orders.channels.models import ChannelWebhook
from orders.channels.services.sync import channel_pull
from orders.models import Order
from tests.channels.conftest import SHOPIFY_SECRET
from tests.channels.servers import shopify_order

pytestmark = pytest.mark.django_db


def deliver(client, connection, order, *, webhook_id="wh-1", secret=SHOPIFY_SECRET, topic="orders/create"):
    body = json.dumps(order).encode()
    return client.post(
        f"/api/v1/channels/connections/{connection.uuid}/webhooks/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=hmac_base64(secret, body),
        HTTP_X_SHOPIFY_WEBHOOK_ID=webhook_id,
        HTTP_X_SHOPIFY_TOPIC=topic,
    )


def test_a_signed_webhook_is_accepted_and_its_order_captured(client, api, shop):
    response = deliver(client, shop, shopify_order(1))
    assert response.status_code == 202, response.content
    order = Order.objects.get(external_id="5600000000001")
    assert order.channel_order_name == "#1001"
    assert ChannelWebhook.objects.get().processed_at is not None


def test_a_bad_hmac_is_refused_before_anything_is_stored(client, api, shop):
    response = deliver(client, shop, shopify_order(1), secret="not-the-secret")
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "bad_signature"
    assert (ChannelWebhook.objects.count(), Order.objects.count()) == (0, 0)


def test_a_replayed_webhook_id_is_ignored(client, api, shop):
    assert deliver(client, shop, shopify_order(1)).json() == {"status": "accepted"}
    assert deliver(client, shop, shopify_order(1)).json() == {"status": "duplicate"}
    assert (ChannelWebhook.objects.count(), Order.objects.count()) == (1, 1)


def test_a_webhook_and_a_pull_of_the_same_order_create_it_once(client, api, shop, shopify_server):
    deliver(client, shop, shopify_order(1))
    shopify_server.orders = [shopify_order(1), shopify_order(2)]
    run = channel_pull(connection_id=shop.pk)
    assert (run.created, run.duplicates) == (1, 1)
    assert Order.objects.filter(external_id="5600000000001").count() == 1


def test_an_unknown_connection_is_404(client, api, shop):
    body = b"{}"
    response = client.post(
        f"/api/v1/channels/connections/{uuid.uuid4()}/webhooks/",
        data=body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=hmac_base64(SHOPIFY_SECRET, body),
    )
    assert response.status_code == 404


def test_a_stored_webhook_whose_job_was_lost_is_worked_by_the_beat_job(api, shop):
    from datetime import timedelta

    from django.utils import timezone

    from orders.channels.tasks import webhooks_process_due

    hook = ChannelWebhook.objects.create(
        connection=shop, webhook_id="lost-1", topic="orders/create", body=json.dumps(shopify_order(4))
    )
    ChannelWebhook.objects.filter(pk=hook.pk).update(received_at=timezone.now() - timedelta(minutes=2))
    assert webhooks_process_due() == 1
    assert Order.objects.get().external_id == "5600000000004"
