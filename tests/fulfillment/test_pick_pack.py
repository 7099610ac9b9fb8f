from __future__ import annotations

import pytest

from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from oms.models import OpsException, OutboxEvent
from orders.models import OrderLine
from orders.services.holds import hold_place
from tests.fulfillment.helpers import NODE_ACTOR, carriers, dc, fos_of, held, routed_order, scans_for, stock, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def released(api):
    east = dc(api)
    stock(api.red, east, 5)
    stock(api.blue, east, 5)
    order = routed_order(api, [(api.red, east, 2), (api.blue, east, 1)])
    order_release(order=order)
    return fos_of(order)[0]


def test_it_lists_and_shows_a_merchants_fulfilment_orders_by_order_node_and_status(api, other_api, released):
    listed = api.client.get("/api/v1/fulfillment-orders/", {"node": "DC-EAST", "status": "released"}).json()
    assert [fo["id"] for fo in listed["results"]] == [released.pk]
    assert api.client.get("/api/v1/fulfillment-orders/", {"order": "nope"}).json()["results"] == []
    body = api.client.get(url(released)).json()
    assert body["order"] == released.order.number
    assert [(line["sku"], line["quantity"], line["barcodes"]) for line in body["lines"]] == [
        ("TSHIRT-RED-M", 2, ["0012345678905"]), ("TSHIRT-BLUE-M", 1, ["0012345678912"])]  # fmt: skip
    assert other_api.client.get(url(released)).status_code == 404


def test_it_verifies_every_scan_at_packing_and_names_the_difference(api, released):
    assert api.client.post(url(released, "accept"), {}, format="json").status_code == 200
    assert api.client.post(url(released, "pick"), {}, format="json").json()["status"] == "picked"

    wrong = api.client.post(url(released, "pack"), {"scans": ["0012345678905"] * 3}, format="json")

    assert wrong.status_code == 422
    message = wrong.json()["errors"][0]["message"]
    assert "scanned 3 × 0012345678905, expected 2" in message
    assert "missing 1 × 0012345678912" in message
    alert = OpsException.objects.get(type="pack_mismatch")
    assert alert.status == "open"
    assert FulfillmentOrder.objects.get(pk=released.pk).status == "picked"

    fixed = api.client.post(url(released, "pack"), {"scans": scans_for(released)}, format="json")

    assert fixed.status_code == 200, fixed.json()
    assert fixed.json()["status"] == "packed"
    assert fixed.json()["pack"] == {"attempts": 2, "corrected": True}
    alert.refresh_from_db()
    assert alert.status == "resolved"


def test_it_accepts_any_of_a_products_barcodes_and_refuses_an_unknown_one(api, released):
    api.blue.barcodes = ["5012345678900"]
    api.blue.save()
    api.client.post(url(released, "accept"), {}, format="json")
    api.client.post(url(released, "pick"), {}, format="json")

    stranger = api.client.post(url(released, "pack"), {"scans": ["0012345678905", "0012345678905", "999"]},
                               format="json")  # fmt: skip
    assert "scanned 1 × 999, expected 0 (not in this order)" in stranger.json()["errors"][0]["message"]

    ok = api.client.post(url(released, "pack"), {"scans": ["0012345678905", "5012345678900", "0012345678905"]},
                         format="json")  # fmt: skip
    assert ok.status_code == 200, ok.json()


def test_a_first_time_right_pack_is_not_a_correction(api, released):
    api.client.post(url(released, "accept"), {}, format="json")
    api.client.post(url(released, "pick"), {}, format="json")
    body = api.client.post(url(released, "pack"), {"scans": scans_for(released)}, format="json").json()
    assert body["pack"] == {"attempts": 1, "corrected": False}


def test_steps_out_of_order_answer_409(api, released):
    response = api.client.post(url(released, "pick"), {}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "invalid_state"
    assert api.client.post(url(released, "pack"), {"scans": ["x"]}, format="json").status_code == 409


def test_node_actions_answer_409_while_the_order_is_on_hold(api, released):
    hold_place(order=released.order, type="manual", reason="Address check", actor=NODE_ACTOR)
    for action, body in (("accept", {}), ("reject", {"reason": "x"}), ("pick", {}), ("pack", {"scans": ["1"]}),
                         ("ship", {}), ("cancel", {}), ("picked-up", {})):  # fmt: skip
        response = api.client.post(url(released, action), body, format="json")
        assert response.status_code == 409, (action, response.json())
        assert "on hold" in response.json()["errors"][0]["message"]


def test_a_short_pick_sends_the_missing_units_back_to_routing(api, released):
    red = released.lines.get(order_line__sku="TSHIRT-RED-M")
    api.client.post(url(released, "accept"), {}, format="json")

    body = api.client.post(url(released, "pick"), {"lines": [{"line": red.pk, "picked": 1}]}, format="json").json()

    assert body["status"] == "picked"
    assert held(api.red, released.node) == (4, 1)  # not found: off the books here, routed elsewhere
    line = OrderLine.objects.get(pk=red.order_line_id)
    assert (line.qty_allocated, line.qty_backordered) == (1, 1)
    event = OutboxEvent.objects.get(type="fulfillment_order.unfulfillable")
    assert event.payload["lines"] == [{"order_line": line.pk, "sku": "TSHIRT-RED-M", "quantity": 1}]
    assert OpsException.objects.filter(type="short_pick").exists()
    packed = api.client.post(url(released, "pack"), {"scans": ["0012345678905", "0012345678912"]}, format="json")
    assert packed.status_code == 200, packed.json()


def test_unknown_fields_and_bad_lines_are_refused(api, released):
    assert api.client.post(url(released, "accept"), {"force": True}, format="json").status_code == 400
    api.client.post(url(released, "accept"), {}, format="json")
    response = api.client.post(url(released, "pick"), {"lines": [{"line": 999999, "picked": 1}]}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "lines[0].line"


def test_carriers_fixture_loads(api):
    carriers()
