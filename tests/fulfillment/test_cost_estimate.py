"""Routing's cost factor prices lanes from the carrier rate cards (its estimator interface)."""

from __future__ import annotations

import pytest

from fulfillment.routing.costs import Lane, estimator_for
from tests.fulfillment.helpers import carriers, dc

pytestmark = pytest.mark.django_db


def lane(node_code: str, level: str = "standard") -> Lane:
    return Lane(node_code=node_code, node_country="US", node_region="NJ", dest_country="US", dest_region="CA",
                dest_postal_code="94105", distance_km=4100.0, service_level=level)  # fmt: skip


def test_routing_prices_a_lane_with_the_cheapest_rate_card_service(api):
    carriers()
    east = dc(api)
    quote = estimator_for(api.merchant.pk).quote(lane(east.code))
    assert quote.basis.startswith("rate card ")
    assert quote.zone == 8  # Edison NJ to San Francisco: the farthest band
    express = estimator_for(api.merchant.pk).quote(lane(east.code, "express"))
    assert express.cost > quote.cost
    assert express.transit_days < quote.transit_days


def test_a_lane_no_rate_card_serves_falls_back_to_routings_zone_table(api):
    east = dc(api)  # no carriers at all
    quote = estimator_for(api.merchant.pk).quote(lane(east.code))
    assert not quote.basis.startswith("rate card")
    pickup = estimator_for(api.merchant.pk).quote(lane(east.code, "pickup"))
    assert pickup.cost == 0
