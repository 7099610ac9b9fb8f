"""The whole way: captured through the API, routed to two nodes, released, accepted, picked,
packed with scan verification (a mismatch refused, then corrected), rate-shopped, labelled,
shipped, tracked to delivered out of order: the order is delivered. A store's rejection
re-routes; a pick-up order is collected."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.models import FulfillmentOrder
from inventory.models import Node
from oms.models import OpsException
from orders.models import Order
from tests import payloads
from tests.fulfillment.helpers import carriers, dc, held, scans_for, stock, tracking_event, url
from tests.fulfillment.test_shipping import barcodes_in

pytestmark = pytest.mark.django_db


def place(api, hooks, lines, **changes):
    changes["external_id"] = f"E2E-{changes.get('external_id', len(lines))}"
    body = payloads.order(lines=lines, placed_at=(timezone.now() - timedelta(hours=1)).isoformat(), **changes)
    total = sum(Decimal(line["unit_price"]) * line["quantity"] + Decimal(line.get("tax", "0")) for line in lines)
    total += Decimal(body["shipping"]["price"])
    body["total"] = str(total)
    body["payment"]["amount"] = str(total)
    with hooks(execute=True):
        response = api.client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


def fulfilment_orders(api, order):
    return api.client.get("/api/v1/fulfillment-orders/", {"order": order.number}).json()["results"]


def test_an_order_routed_to_two_nodes_is_fulfilled_and_tracked_to_delivered(api, django_capture_on_commit_callbacks):
    carriers()
    east = dc(api, "DC-EAST", ships_to=["US"])
    west = dc(api, "DC-WEST", city="Ontario", region="CA", postal_code="91761", latitude=Decimal("34.0335"),
              longitude=Decimal("-117.6012"), ships_to=["US"])  # fmt: skip
    stock(api.red, east, 10)
    stock(api.blue, west, 10)
    lines = [{"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.99", "tax": "0.00"},
             {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "19.99", "tax": "0.00"}]  # fmt: skip

    order = place(api, django_capture_on_commit_callbacks, lines)

    order.refresh_from_db()
    assert order.status == "released", order.events.values_list("name", "reason")
    fos = fulfilment_orders(api, order)
    assert sorted((fo["node"], fo["status"]) for fo in fos) == [("DC-EAST", "released"), ("DC-WEST", "released")]

    tracking = []
    for data in fos:
        fo = FulfillmentOrder.objects.get(pk=data["id"])
        assert api.client.post(url(fo, "accept"), {}, format="json").status_code == 200
        assert api.client.post(url(fo, "pick"), {}, format="json").status_code == 200
        scans = scans_for(fo)
        mismatch = api.client.post(url(fo, "pack"), {"scans": scans[:-1] + ["0099999999999"]}, format="json")
        assert mismatch.status_code == 422
        assert "expected 0 (not in this order)" in mismatch.json()["errors"][0]["message"]
        packed = api.client.post(url(fo, "pack"), {"scans": scans}, format="json")
        assert packed.json()["pack"] == {"attempts": 2, "corrected": True}
        shipped = api.client.post(url(fo, "ship"), {}, format="json")
        assert shipped.status_code == 201, shipped.json()
        [shipment] = shipped.json()
        label = api.client.get(shipment["urls"]["label_url"]).content
        assert barcodes_in(label) == [(shipment["tracking_number"], "Code128")]
        tracking.append(shipment)
    assert OpsException.objects.filter(type="pack_mismatch", status="resolved").count() == 2
    order.refresh_from_db()
    assert order.status == "shipped"
    assert held(api.red, east) == (8, 0)
    assert held(api.blue, west) == (9, 0)

    now = timezone.now()
    for i, shipment in enumerate(tracking):
        for status, hours in (("delivered", 30), ("in_transit", 5), ("out_for_delivery", 26), ("carrier_pickup", 1)):
            at = (now + timedelta(hours=hours)).isoformat()
            response = tracking_event(api.client, carrier=shipment["carrier"], status=status, event_id=f"{i}-{status}",
                                      tracking_number=shipment["tracking_number"], occurred_at=at)  # fmt: skip
            assert response.status_code == 201, response.json()
        if i == 0:
            assert Order.objects.get(pk=order.pk).status == "shipped"  # one of two parcels delivered

    order.refresh_from_db()
    assert order.status == "delivered"
    assert all(line.qty_delivered == line.quantity for line in order.lines.all())
    feed = api.client.get(f"/api/v1/orders/{order.number}/tracking/").json()
    assert [s["status"] for s in feed["shipments"]] == ["delivered", "delivered"]
    assert [h["milestone"] for h in feed["shipments"][0]["history"]] == [
        "carrier_pickup", "in_transit", "out_for_delivery", "delivered"]  # fmt: skip


def test_a_store_rejection_re_routes_to_another_node(api, django_capture_on_commit_callbacks):
    carriers()
    api.store.capabilities = ["ship", "ship_from_store", "pickup"]
    api.store.ships_to = ["US"]
    api.store.priority = 1
    api.store.save()
    east = dc(api, "DC-EAST", ships_to=["US"], priority=500)
    stock(api.red, api.store, 5)
    stock(api.red, east, 5)
    lines = [{"sku": "TSHIRT-RED-M", "quantity": 1, "unit_price": "19.99", "tax": "0.00"}]
    order = place(api, django_capture_on_commit_callbacks, lines, external_id="REJ")
    [first] = fulfilment_orders(api, order)
    store_fo = FulfillmentOrder.objects.get(pk=first["id"])
    assert store_fo.node == api.store, first

    with django_capture_on_commit_callbacks(execute=True):
        response = api.client.post(url(store_fo, "reject"), {"reason": "Damaged in store"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "rejected"
    assert held(api.red, api.store) == (5, 0)
    order.refresh_from_db()
    assert order.status == "released"
    now_at = [(fo["node"], fo["status"]) for fo in fulfilment_orders(api, order)]
    assert sorted(now_at) == [("ACME-STORE-1", "rejected"), ("DC-EAST", "released")]
    assert held(api.red, east) == (5, 1)


def test_a_pick_up_order_reaches_picked_up(api, django_capture_on_commit_callbacks):
    api.store.capabilities = ["pickup"]
    api.store.save()
    stock(api.red, api.store, 3)
    lines = [{"sku": "TSHIRT-RED-M", "quantity": 1, "unit_price": "19.99", "tax": "0.00"}]
    order = place(api, django_capture_on_commit_callbacks, lines, external_id="BOPIS",
                  fulfillment={"type": "pickup", "location": api.store.code},
                  shipping={"service_level": "pickup", "price": "0.00", "tax": "0.00"})  # fmt: skip
    order.refresh_from_db()
    assert order.status == "released", list(order.events.values_list("name", "reason"))
    fo = FulfillmentOrder.objects.get(order=order)
    for action, body in (("accept", {}), ("pick", {}), ("pack", {"scans": ["0012345678905"]})):
        assert api.client.post(url(fo, action), body, format="json").status_code == 200, action
    assert Order.objects.get(pk=order.pk).status == "ready_for_pickup"
    assert api.client.post(url(fo, "picked-up"), {}, format="json").status_code == 200
    order.refresh_from_db()
    assert order.status == "picked_up"
    assert held(api.red, api.store) == (2, 0)
    assert Node.objects.get(pk=api.store.pk).code == "ACME-STORE-1"


def test_a_released_part_ships_while_the_rejected_part_waits_for_stock(api, django_capture_on_commit_callbacks):
    carriers()
    east = dc(api, "DC-EAST", ships_to=["US"])
    west = dc(api, "DC-WEST", city="Ontario", region="CA", postal_code="91761", latitude=Decimal("34.0335"),
              longitude=Decimal("-117.6012"), ships_to=["US"])  # fmt: skip
    stock(api.red, east, 10)
    stock(api.blue, west, 1)
    lines = [{"sku": "TSHIRT-RED-M", "quantity": 1, "unit_price": "19.99", "tax": "0.00"},
             {"sku": "TSHIRT-BLUE-M", "quantity": 1, "unit_price": "19.99", "tax": "0.00"}]  # fmt: skip
    order = place(api, django_capture_on_commit_callbacks, lines, external_id="SPLIT-REJ")
    by_node = {fo["node"]: FulfillmentOrder.objects.get(pk=fo["id"]) for fo in fulfilment_orders(api, order)}

    with django_capture_on_commit_callbacks(execute=True):
        api.client.post(url(by_node["DC-WEST"], "reject"), {"reason": "Shelf empty"}, format="json")
    order.refresh_from_db()
    assert order.status == "partially_allocated"  # no other node has the blue one: backordered

    red = by_node["DC-EAST"]
    for action, body in (("accept", {}), ("pick", {}), ("pack", {"scans": ["0012345678905"]}), ("ship", {})):
        assert api.client.post(url(red, action), body, format="json").status_code in (200, 201), action
    order.refresh_from_db()
    assert order.status == "partially_shipped"
