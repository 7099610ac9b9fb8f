from __future__ import annotations

import pytest

from inventory.models import Node
from tests.factories import NodeFactory

URL = "/api/v1/nodes/"

STORE = {
    "code": "ACME-SF-1",
    "name": "Acme San Francisco",
    "type": "store",
    "line1": "1 Market St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "time_zone": "America/Los_Angeles",
    "capabilities": ["pickup", "ship_from_store"],
    "ships_to": ["us-ca", "US-NV"],
    "tags": ["west"],
    "daily_capacity": 40,
    "cutoff_time": "15:30",
    "handling_cost": "2.50",
    "priority": 20,
}


def test_it_creates_an_owned_node_geocoded_from_its_address(api):
    response = api.client.post(URL, STORE, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["owned"] is True
    assert body["geo_precision"] == "postal_code"
    assert body["latitude"].startswith("37.78")
    assert body["ships_to"] == ["US-CA", "US-NV"]
    assert body["cutoff_time"] == "15:30"
    node = Node.objects.get(code="ACME-SF-1")
    assert node.owner == api.merchant
    assert list(node.merchants.all()) == [api.merchant]
    assert node.serves("US", "ca")


def test_it_lists_the_nodes_that_serve_the_merchant(api, other_api):
    shared = NodeFactory(code="SHARED-DC", merchants=[api.merchant, other_api.merchant])
    api.client.post(URL, STORE, format="json")
    codes = [n["code"] for n in api.client.get(URL).json()["results"]]
    assert codes == ["ACME-SF-1", "ACME-STORE-1", "SHARED-DC"]
    assert "ACME-SF-1" not in [n["code"] for n in other_api.client.get(URL).json()["results"]]
    assert shared.code in [n["code"] for n in other_api.client.get(URL).json()["results"]]


def test_it_patches_an_owned_node(api):
    api.client.post(URL, STORE, format="json")
    response = api.client.patch(f"{URL}ACME-SF-1/", {"postal_code": "10001", "region": "NY"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["latitude"].startswith("40.74")
    response = api.client.patch(f"{URL}ACME-SF-1/", {"latitude": "40.1", "longitude": "-74.2"}, format="json")
    assert response.json()["geo_precision"] == "manual"


def test_it_refuses_to_patch_a_shared_node(api):
    NodeFactory(code="SHARED-DC", merchants=[api.merchant])
    response = api.client.patch(f"{URL}SHARED-DC/", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "forbidden"


def test_it_answers_404_for_another_merchants_node(api, other_api):
    other_api.client.post(URL, {**STORE, "code": "RIVAL-SF"}, format="json")
    assert api.client.get(f"{URL}RIVAL-SF/").status_code == 404
    assert api.client.patch(f"{URL}RIVAL-SF/", {"name": "x"}, format="json").status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"capabilities": ["teleport"]}, "capabilities[0]"),
        ({"time_zone": "Mars/Base"}, "time_zone"),
        ({"cutoff_time": "25:00"}, "cutoff_time"),
        ({"type": "warehouse"}, "type"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_it_names_the_invalid_field(api, change, field):
    response = api.client.post(URL, {**STORE, **change}, format="json")
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]


def test_it_refuses_a_taken_code_with_409(api, other_api):
    other_api.client.post(URL, STORE, format="json")
    assert api.client.post(URL, STORE, format="json").status_code == 409
