"""Channel connections in the admin: write-only credentials, the run log, "Sync now"."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from orders.channels.crypto import credentials_decrypt
from orders.channels.models import ChannelConnection, SyncRun
from tests.channels.servers import shopify_order
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db


def test_a_connection_added_in_the_admin_has_its_credentials_encrypted_and_a_schedule(admin_client, api):
    channel = ChannelFactory(merchant=api.merchant, code="shopify")
    response = admin_client.post(
        reverse("admin:orders_channelconnection_add"),
        {
            "merchant": api.merchant.pk, "channel": channel.pk, "kind": "shopify",
            "base_url": "https://acme.myshopify.com", "active": "on", "pull_every_seconds": 90,
            "options": '{"service_level": "standard"}', "cursor": "", "token": "shpat_typed_in",
            "webhook_secret": "whsec", "consumer_key": "", "consumer_secret": "",
            "sku_map-TOTAL_FORMS": 0, "sku_map-INITIAL_FORMS": 0, "runs-TOTAL_FORMS": 0, "runs-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    connection = ChannelConnection.objects.get()
    assert credentials_decrypt(connection.credentials) == {"token": "shpat_typed_in", "webhook_secret": "whsec"}
    assert PeriodicTask.objects.get(name=f"channel pull {connection.uuid}").interval.every == 90
    page = admin_client.get(reverse("admin:orders_channelconnection_change", args=[connection.pk])).content.decode()
    assert "shpat_typed_in" not in page
    assert "Sync now" in page


def test_options_are_checked_as_the_api_checks_them(admin_client, api, shop):
    response = admin_client.post(
        reverse("admin:orders_channelconnection_change", args=[shop.pk]),
        {
            "base_url": shop.base_url, "active": "on", "pull_every_seconds": 300, "cursor": "",
            "options": '{"service_level": "teleport", "tracking_url_template": "ftp://x"}',
            "token": "", "webhook_secret": "", "consumer_key": "", "consumer_secret": "",
            "sku_map-TOTAL_FORMS": 0, "sku_map-INITIAL_FORMS": 0, "runs-TOTAL_FORMS": 0, "runs-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 200  # the form again, with the errors
    errors = " ".join(response.context["adminform"].form.errors["options"])
    assert "service_level" in errors
    assert "tracking_url_template" in errors
    shop.refresh_from_db()
    assert shop.options == {}


def test_sync_now_pulls_and_the_run_log_shows_the_rejected_orders(admin_client, api, shop, shopify_server):
    shopify_server.orders = [shopify_order(1), shopify_order(2, sku="GONE-SKU")]
    response = admin_client.post(reverse("admin:orders_channelconnection_sync", args=[shop.pk]))
    assert response.status_code == 302
    run = SyncRun.objects.get()
    assert (run.trigger, run.created, run.rejected) == ("manual", 1, 1)
    page = admin_client.get(reverse("admin:orders_syncrun_change", args=[run.pk])).content.decode()
    assert "#1002" in page
    assert "No product with SKU &#x27;GONE-SKU&#x27;" in page


def test_a_new_token_typed_in_the_admin_keeps_the_webhook_secret(admin_client, api, shop):
    page = reverse("admin:orders_channelconnection_change", args=[shop.pk])
    response = admin_client.post(
        page,
        {
            "base_url": shop.base_url, "active": "on", "pull_every_seconds": 300, "options": "{}",
            "cursor_0": "", "cursor_1": "", "token": "shpat_rotated", "webhook_secret": "",
            "consumer_key": "", "consumer_secret": "",
            "sku_map-TOTAL_FORMS": 0, "sku_map-INITIAL_FORMS": 0, "runs-TOTAL_FORMS": 0, "runs-INITIAL_FORMS": 0,
        },
    )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    shop.refresh_from_db()
    assert credentials_decrypt(shop.credentials) == {"token": "shpat_rotated", "webhook_secret": "shpss_app_secret"}
    assert shop.kind == "shopify"
