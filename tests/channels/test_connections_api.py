"""The connection settings API: credentials write-only and encrypted, schedule, options, SKU map."""

from __future__ import annotations

import pytest
from django_celery_beat.models import PeriodicTask

from orders.channels.crypto import credentials_decrypt
from orders.channels.models import ChannelConnection
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/channels/connections/"


def create(api, **changes):
    ChannelFactory(merchant=api.merchant, code="shopify")
    body = {
        "channel": "shopify",
        "kind": "shopify",
        "base_url": "https://acme.myshopify.com",
        "credentials": {"token": "shpat_secret_value", "webhook_secret": "app-secret"},
        "pull_every_seconds": 120,
        "options": {"service_level": "express", "locations": {"65000000001": ["ACME-STORE-1"]}},
        **changes,
    }
    return api.client.post(URL, body, format="json")


def test_credentials_are_encrypted_at_rest_and_never_shown_again(api):
    response = create(api)
    assert response.status_code == 201, response.json()
    assert "shpat_secret_value" not in response.content.decode()
    assert response.json()["has_credentials"] is True
    stored = ChannelConnection.objects.get()
    assert "shpat_secret_value" not in stored.credentials
    assert credentials_decrypt(stored.credentials)["token"] == "shpat_secret_value"
    shown = api.client.get(f"{URL}{stored.uuid}/").content.decode()
    assert "shpat_secret_value" not in shown
    assert "app-secret" not in shown


def test_each_connection_gets_its_periodic_pull_and_its_schedule_is_editable(api):
    uuid = create(api).json()["uuid"]
    task = PeriodicTask.objects.get(name=f"channel pull {uuid}")
    assert (task.task, task.interval.every, task.queue) == ("orders.channels.tasks.channel_pull", 120, "channels")
    assert api.client.patch(f"{URL}{uuid}/", {"pull_every_seconds": 600}, format="json").status_code == 200
    task.refresh_from_db()
    assert task.interval.every == 600


def test_bad_options_name_the_field(api):
    response = create(api, options={"service_level": "teleport", "payment_gateway": "nope"})
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"options.service_level", "options.payment_gateway"}


def test_the_sku_map_is_editable_and_ids_stay_exact(api):
    uuid = create(api).json()["uuid"]
    entry = {"sku": "TSHIRT-RED-M", "variant_id": "44000000000000001", "inventory_item_id": "9223372036854775807"}
    response = api.client.post(f"{URL}{uuid}/sku-map/", entry, format="json")
    assert response.status_code == 200, response.json()
    listed = api.client.get(f"{URL}{uuid}/sku-map/").json()["results"]
    assert listed[0]["inventory_item_id"] == "9223372036854775807"


def test_another_merchants_connection_is_not_found(api, other_api):
    uuid = create(api).json()["uuid"]
    assert other_api.client.get(f"{URL}{uuid}/").status_code == 404
    assert other_api.client.get(f"{URL}{uuid}/runs/").status_code == 404


def test_deploy_checks_ask_for_a_credentials_key(settings):
    from cryptography.fernet import Fernet

    from orders.channels.checks import check_channel_credentials_key

    settings.CHANNEL_CREDENTIALS_KEY = ""
    assert [e.id for e in check_channel_credentials_key()] == ["orders.E101"]
    settings.CHANNEL_CREDENTIALS_KEY = "not-a-key"
    assert [e.id for e in check_channel_credentials_key()] == ["orders.E102"]
    settings.CHANNEL_CREDENTIALS_KEY = Fernet.generate_key().decode()
    assert check_channel_credentials_key() == []
