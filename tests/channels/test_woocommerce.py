"""WooCommerce v3: paging by X-WP-TotalPages, basic auth, the mapping, signed webhooks."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from orders.channels.connectors.base import hmac_base64
from orders.channels.models import ChannelSkuMap, ChannelWebhook
from orders.channels.services.sync import channel_pull
from orders.models import Order
from tests.channels.conftest import WOO_SECRET
from tests.channels.servers import woo_order

pytestmark = pytest.mark.django_db


def test_a_variation_a_coupon_and_two_tax_lines_map_to_the_right_totals(api, woo, woo_server):
    woo_server.orders = [woo_order(1)]
    run = channel_pull(connection_id=woo.pk)
    assert (run.created, run.rejected) == (1, 0), run.rejections
    order = Order.objects.get(channel__code="woo")
    line = order.lines.get()
    assert (line.sku, line.quantity, line.unit_price, line.discount, line.tax) == (
        "TSHIRT-RED-M", 2, Decimal("20.00"), Decimal("4.00"), Decimal("3.24")
    )  # fmt: skip
    assert (order.shipping_price, order.shipping_tax, order.total) == (Decimal(5), Decimal("0.45"), Decimal("44.69"))
    assert (order.external_id, order.channel_order_name) == ("701", "#701")
    assert order.payments.get().transaction_type == "capture"  # processing = paid
    assert order.notes == "Leave at the door"
    learned = ChannelSkuMap.objects.get(connection=woo, sku="TSHIRT-RED-M")
    assert (learned.product_id, learned.variant_id) == ("93", "101")


def test_on_hold_is_awaiting_payment(api, woo, woo_server):
    woo_server.orders = [woo_order(1, status="on-hold")]
    channel_pull(connection_id=woo.pk)
    assert Order.objects.get().payments.get().transaction_type == "authorize"


def test_tax_lines_that_do_not_add_up_reject_the_order_with_the_reason(api, woo, woo_server):
    bad = woo_order(1)
    bad["tax_lines"][1]["tax_total"] = "0.99"
    woo_server.orders = [bad]
    run = channel_pull(connection_id=woo.pk)
    assert run.rejected == 1
    assert run.rejections[0]["errors"][0]["field"] == "tax_lines"


def test_pages_follow_x_wp_totalpages_with_basic_auth(api, woo, woo_server, monkeypatch):
    monkeypatch.setattr("orders.channels.connectors.woocommerce.PAGE_SIZE", 2)
    woo_server.orders = [woo_order(n) for n in range(1, 6)]
    run = channel_pull(connection_id=woo.pk)
    assert (run.pages, run.created) == (3, 5)
    pages = woo_server.calls("GET", r".*/orders")
    assert [r["query"]["page"] for r in pages] == ["1", "2", "3"]
    assert pages[0]["headers"]["Authorization"].startswith("Basic ")
    assert channel_pull(connection_id=woo.pk).created == 0
    assert woo_server.calls("GET", r".*/orders")[-1]["query"]["modified_after"] == "2026-01-05T09:00:00"


def test_a_signed_woocommerce_webhook_is_taken_and_a_bad_one_refused(client, api, woo):
    body = json.dumps(woo_order(3)).encode()
    url = f"/api/v1/channels/connections/{woo.uuid}/webhooks/"
    headers = {"HTTP_X_WC_WEBHOOK_TOPIC": "order.created", "HTTP_X_WC_WEBHOOK_DELIVERY_ID": "d-1"}
    bad = client.post(url, data=body, content_type="application/json", HTTP_X_WC_WEBHOOK_SIGNATURE="x", **headers)
    assert bad.status_code == 401
    good = client.post(
        url, data=body, content_type="application/json",
        HTTP_X_WC_WEBHOOK_SIGNATURE=hmac_base64(WOO_SECRET, body), **headers,
    )  # fmt: skip
    assert good.status_code == 202
    assert Order.objects.get().external_id == "703"


def test_woocommerces_unsigned_ping_is_answered_and_stores_nothing(client, api, woo):
    url = f"/api/v1/channels/connections/{woo.uuid}/webhooks/"
    response = client.post(url, data=b"webhook_id=12", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 202
    assert ChannelWebhook.objects.count() == 0
