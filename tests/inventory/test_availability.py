from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.geocoding import geocode
from inventory.models import Node
from inventory.services import ReserveItem, node_update, stock_reserve
from inventory.services.availability import availability_changes_emit
from oms.actors import Actor
from oms.models import OutboxEvent
from oms.refs import Ref
from tests.factories import ChannelRuleFactory, NodeFactory, StockLevelFactory

URL = "/api/v1/availability/"


def test_it_geocodes_a_us_zip_to_its_centroid():
    point = geocode(country="US", postal_code="94105-1234")
    assert point.precision == "postal_code"
    assert round(point.latitude, 1) == 37.8
    assert round(point.longitude, 1) == -122.4


def test_it_falls_back_to_the_state_centroid():
    point = geocode(country="US", region="ca", postal_code="00000")
    assert point.precision == "region"
    assert 34 < point.latitude < 39
    assert -122 < point.longitude < -118


def test_it_says_when_it_does_not_know():
    assert geocode(country="DE", postal_code="10115").precision == "unknown"
    assert geocode(country="US", region="ZZ").latitude is None


@pytest.fixture
def network(api):
    """An SF store, a NJ DC and a Reno drop-shipper, each with red T-shirts."""
    sf = NodeFactory(
        code="SF-STORE", type=Node.Type.STORE, capabilities=["pickup"], merchants=[api.merchant],
        latitude=Decimal("37.7890"), longitude=Decimal("-122.4010"),
    )  # fmt: skip
    nj = NodeFactory(
        code="DC-EAST", type=Node.Type.DC, merchants=[api.merchant],
        latitude=Decimal("40.7357"), longitude=Decimal("-74.1724"),
    )  # fmt: skip
    reno = NodeFactory(code="VENDOR-RENO", type=Node.Type.DROPSHIP, merchants=[api.merchant])
    StockLevelFactory(product=api.red, node=sf, on_hand=5)
    StockLevelFactory(product=api.red, node=nj, on_hand=40)
    StockLevelFactory(product=api.red, node=reno, on_hand=7, safety_stock=2)
    StockLevelFactory(product=api.blue, node=nj, on_hand=3)
    return sf, nj, reno


def get(api, **params):
    return api.client.get(URL, params)


def test_it_lists_atp_per_node_nearest_first_for_a_destination(api, network):
    response = get(api, sku=["TSHIRT-RED-M", "TSHIRT-BLUE-M"], country="US", postal_code="94105")
    assert response.status_code == 200, response.json()
    body = response.json()
    red, blue = body["results"]
    assert red["sku"] == "TSHIRT-RED-M"
    assert red["atp"] == 5 + 40 + 5
    assert red["safe_to_promise"] == red["atp"]
    assert [n["node"] for n in red["nodes"]] == ["SF-STORE", "VENDOR-RENO", "DC-EAST"]
    assert red["nodes"][0]["distance_km"] < 5
    assert red["nodes"][2] == {"node": "DC-EAST", "type": "dc", "atp": 40, "distance_km": pytest.approx(4130, abs=60)}
    assert blue["atp"] == 3
    assert body["destination"]["precision"] == "postal_code"


def test_it_counts_stores_only_where_the_channel_enables_their_capability(api, network):
    response = get(api, sku="TSHIRT-RED-M", channel="web")
    red = response.json()["results"][0]
    # Default rule: stores count for ship-from-store only; the SF store only does pick-up.
    assert [n["node"] for n in red["nodes"]] == ["DC-EAST", "VENDOR-RENO"]
    ChannelRuleFactory(channel=api.web, store_capabilities=["pickup"], node_types=["dc", "store"])
    red = get(api, sku="TSHIRT-RED-M", channel="web").json()["results"][0]
    assert [n["node"] for n in red["nodes"]] == ["DC-EAST", "SF-STORE"]
    assert red["atp"] == 45


def test_it_holds_back_the_channel_buffer(api, network):
    ChannelRuleFactory(channel=api.marketplace, buffer_type="percent", buffer_value=Decimal("10"), node_types=["dc"])
    red = get(api, sku="TSHIRT-RED-M", channel="marketplace").json()["results"][0]
    assert (red["atp"], red["safe_to_promise"]) == (40, 36)
    ChannelRuleFactory(channel=api.web, buffer_type="fixed", buffer_value=Decimal("3"), node_types=["dc"])
    red = get(api, sku="TSHIRT-RED-M", channel="web").json()["results"][0]
    assert red["safe_to_promise"] == 37


def test_it_names_unknown_skus_and_channels(api, network):
    response = get(api, sku=["TSHIRT-RED-M", "NOPE"], channel="tv")
    assert response.status_code == 400
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("sku[1]", "unknown_sku"),
        ("channel", "unknown_channel"),
    }


def test_it_needs_a_sku(api):
    assert get(api).status_code == 400


def test_it_shows_no_other_merchants_stock(api, other_api, network):
    rival = NodeFactory(code="RIVAL-DC", merchants=[other_api.merchant])
    StockLevelFactory(product=other_api.red, node=rival, on_hand=100)
    red = get(other_api, sku="TSHIRT-RED-M").json()["results"][0]
    assert red["atp"] == 100
    assert [n["node"] for n in red["nodes"]] == ["RIVAL-DC"]


def test_it_emits_availability_changed_once_per_sku_per_window(api, network):
    _, nj, _ = network
    now = timezone.now()
    assert availability_changes_emit(now=now) == 2  # first look: both SKUs announced
    actor = Actor.system("tests")
    for n in range(3):
        ref = Ref("orders.orderline", str(n))
        stock_reserve(items=[ReserveItem(api.red.pk, nj.pk, 1)], reference=ref, actor=actor)
    assert availability_changes_emit(now=now + timedelta(seconds=1)) == 0  # debounced
    assert availability_changes_emit(now=now + timedelta(seconds=6)) == 1
    assert availability_changes_emit(now=now + timedelta(seconds=12)) == 0  # nothing changed since
    events = OutboxEvent.objects.filter(type="inventory.availability_changed", subject_id=str(api.red.pk))
    assert [e.payload["atp"] for e in events.order_by("created_at")] == [50, 47]
    assert events.last().payload["safe_to_promise"] == {
        "marketplace": 42,
        "web": 42,
    }  # the pick-up store does not count


def test_it_lets_a_merchant_set_a_channels_rule(api, network):
    url = "/api/v1/channels/web/availability-rule/"
    assert api.client.get(url).json()["is_default"] is True
    rule = {"buffer_type": "percent", "buffer_value": "10", "node_types": ["dc"]}
    response = api.client.put(url, rule, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["is_default"] is False
    red = get(api, sku="TSHIRT-RED-M", channel="web").json()["results"][0]
    assert (red["atp"], red["safe_to_promise"]) == (40, 36)


def test_it_refuses_a_bad_channel_rule(api):
    url = "/api/v1/channels/web/availability-rule/"
    response = api.client.put(
        url, {"buffer_type": "percent", "buffer_value": "150", "node_types": ["dc"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "buffer_value"
    response = api.client.put(url, {"buffer_type": "fixed", "buffer_value": "1", "node_types": ["moon"]}, format="json")
    assert response.json()["errors"][0]["field"] == "node_types[0]"


def test_it_answers_404_for_another_merchants_channel_rule(api, other_api):
    assert other_api.client.get("/api/v1/channels/nope/availability-rule/").status_code == 404


def test_a_channel_rule_or_node_change_is_announced_like_a_stock_change(api, network):
    _, nj, _ = network
    start = timezone.now()
    assert availability_changes_emit(now=start) == 2
    rule = {"buffer_type": "fixed", "buffer_value": "5", "node_types": ["dc"]}
    assert api.client.put("/api/v1/channels/web/availability-rule/", rule, format="json").status_code == 200
    assert availability_changes_emit(now=timezone.now() + timedelta(seconds=6)) == 2
    latest = OutboxEvent.objects.filter(type="inventory.availability_changed", subject_id=str(api.red.pk)).latest(
        "created_at"
    )
    assert latest.payload["safe_to_promise"]["web"] == 35  # DC-EAST's 40 less the fixed buffer of 5
    node_update(merchant=None, node=nj, data={"active": False})
    assert availability_changes_emit(now=timezone.now() + timedelta(seconds=12)) == 2
