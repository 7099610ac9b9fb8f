"""A node's own key (a WMS at a shared DC): its node's fulfilment orders, any merchant's, and
nothing else."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from fulfillment.execution.node_keys import node_key_issue, node_key_revoke
from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from tests.fulfillment.helpers import dc, routed_order, stock, url

pytestmark = pytest.mark.django_db


def client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def shared(api, other_api):
    """A DC working for both merchants, and another node."""
    east = dc(api, merchants=[api.merchant, other_api.merchant])
    for merchant_api in (api, other_api):
        stock(merchant_api.red, east, 5)
        stock(merchant_api.red, merchant_api.store, 5)
        order_release(order=routed_order(merchant_api, [(merchant_api.red, east, 1)]))
    order_release(order=routed_order(api, [(api.red, api.store, 1)]))
    return east


def test_a_node_key_works_every_fulfilment_order_at_its_node_and_no_other(api, other_api, shared):
    _, raw = node_key_issue(node=shared)
    wms = client_with(raw)

    listed = wms.get("/api/v1/fulfillment-orders/").json()
    assert sorted(fo["order"] for fo in listed["results"]) == sorted(
        fo.order.number for fo in FulfillmentOrder.objects.filter(node=shared)
    )
    assert listed["count"] == 2  # one per merchant
    theirs = FulfillmentOrder.objects.get(node=shared, order__merchant=other_api.merchant)
    accepted = wms.post(url(theirs, "accept"), {}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert accepted.status_code == 200, accepted.json()
    assert theirs.order.events.last().actor_label.startswith("node key ")
    store_fo = FulfillmentOrder.objects.get(node=api.store)
    assert wms.get(url(store_fo)).status_code == 404
    assert wms.post(url(store_fo, "accept"), {}, format="json").status_code == 404
    assert wms.get("/api/v1/orders/").status_code == 401  # nothing else in the API


def test_a_revoked_or_wrong_node_key_is_refused(shared):
    key, raw = node_key_issue(node=shared)
    assert client_with(raw[:-2] + "xx").get("/api/v1/fulfillment-orders/").status_code == 401
    node_key_revoke(key=key)
    response = client_with(raw).get("/api/v1/fulfillment-orders/")
    assert response.status_code == 401
    assert response.json()["errors"][0]["message"] == "Invalid or revoked node key."


def test_the_command_prints_a_working_key_once(shared, capsys):
    call_command("issue_node_token", shared.code)
    raw = capsys.readouterr().out.strip()
    assert raw.startswith("node_")
    assert client_with(raw).get("/api/v1/fulfillment-orders/").status_code == 200
