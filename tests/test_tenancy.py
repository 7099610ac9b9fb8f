"""A merchant's key reaches that merchant's data alone: every API endpoint, walked with a
second merchant's key, answers 404 for the first merchant's objects and never lists them."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests import payloads

pytestmark = pytest.mark.django_db

PARAM = re.compile(r"<(?:\w+:)?(\w+)>")
# Called by platforms without an API key: the signature is the credential (401 when it is not
# the connection's; tests/channels/test_webhooks.py).
SIGNED_ROUTES = {"api/v1/channels/connections/<uuid:uuid>/webhooks/"}


def api_routes() -> list[str]:
    """Every route under /api/v1/, as a template like 'orders/<number>/cancel/'."""
    routes: list[str] = []

    def walk(patterns, prefix):
        for p in patterns:
            if isinstance(p, URLResolver):
                walk(p.url_patterns, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                routes.append(prefix + str(p.pattern))

    walk(get_resolver().url_patterns, "")
    return [r for r in routes if r.startswith("api/v1/")]


@pytest.fixture
def owned(api):
    """Identifiers of objects that belong to merchant `api`, by URL parameter name."""
    from tests.factories import ProductFactory

    order = api.client.post("/api/v1/orders/", payloads.order(), format="json").json()
    product = ProductFactory(merchant=api.merchant, sku="ACME-ONLY-SKU")
    snapshot = api.client.post(
        "/api/v1/inventory/snapshots/",
        {"id": "ACME-SNAP-1", "node": api.store.code, "as_of": "2026-11-20T06:00:00Z",
         "counts": [{"sku": product.sku, "on_hand": 1}]},
        format="json",
    )  # fmt: skip
    assert snapshot.status_code == 202, snapshot.json()
    webhook = api.client.post(
        "/api/v1/webhooks/", {"url": "https://hooks.acme.example/oms", "event_types": ["*"]}, format="json"
    ).json()
    from orders.models import Order
    from tests.factories import ShipmentDocumentFactory, ShipmentFactory

    shipment = ShipmentFactory(fulfillment_order__order=Order.objects.get(number=order["number"]))
    for kind in ("label_pdf", "label_zpl", "packing_slip"):
        ShipmentDocumentFactory(shipment=shipment, kind=kind)
    connection = api.client.post(
        "/api/v1/channels/connections/",
        {"channel": "marketplace", "kind": "feed", "base_url": "https://feeds.acme.example/orders.json",
         "credentials": {"token": "acme-feed-token"}},
        format="json",
    ).json()  # fmt: skip
    return {"number": order["number"], "sku": product.sku, "code": api.store.code, "snapshot_id": "ACME-SNAP-1",
            "id": shipment.fulfillment_order_id, "shipment_id": shipment.pk, "webhook_id": webhook["id"],
            "uuid": connection["uuid"]}  # fmt: skip


def test_every_endpoint_hides_another_merchants_objects(api, other_api, owned):
    unknown = []
    for route in api_routes():
        if route in SIGNED_ROUTES:
            continue
        params = PARAM.findall(route)
        if any(p not in owned for p in params):
            unknown.append(route)
            continue
        url = "/" + PARAM.sub(lambda m: str(owned[m.group(1)]), route)
        for method in ("get", "post", "patch"):
            response = getattr(other_api.client, method)(url, {}, format="json")
            assert response.status_code != 500, (method, url)
            if params:
                assert response.status_code in (404, 405), (method, url, response.status_code)
            elif method == "get" and response.status_code == 200:
                body = response.content.decode()
                # Numeric ids are too short to look for in a body; the 404s above cover them.
                for value in (v for v in owned.values() if isinstance(v, str)):
                    assert value not in body, (url, value)
    assert not unknown, f"teach this test the URL parameters of: {unknown}"


def test_it_requires_a_valid_key(api):
    from rest_framework.test import APIClient

    anonymous = APIClient()
    assert anonymous.get("/api/v1/orders/").status_code == 401
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer oms_nope_nope")
    response = anonymous.get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "Invalid or revoked API key."


def test_it_accepts_the_token_scheme_and_refuses_a_revoked_key(api):
    from rest_framework.test import APIClient

    from oms.tenancy import api_key_revoke

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api.raw_key}")
    assert client.get("/api/v1/orders/").status_code == 200
    api_key_revoke(key=api.key)
    assert client.get("/api/v1/orders/").status_code == 401


def test_keys_are_stored_only_as_digests(api):
    from oms.models import ApiKey

    stored = ApiKey.objects.get(pk=api.key.pk)
    assert api.raw_key not in (stored.digest, stored.prefix)
    assert api.raw_key.split("_")[1] == stored.prefix
