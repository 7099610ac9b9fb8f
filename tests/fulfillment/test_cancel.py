from __future__ import annotations

import pytest

from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from oms.models import OutboxEvent
from orders.models import Order
from tests.fulfillment.helpers import dc, fos_of, held, routed_order, stock, url

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(api):
    east = dc(api)
    stock(api.red, east, 5)
    stock(api.blue, api.store, 5)
    created = routed_order(api, [(api.red, east, 2), (api.blue, api.store, 1)])
    order_release(order=created)
    return created


def cancel(api, order, **body):
    return api.client.post(f"/api/v1/orders/{order.number}/cancel/", {"reason": "Changed my mind", **body},
                           format="json")  # fmt: skip


def test_cancelling_before_the_pick_releases_the_reservations_at_once(api, order):
    east, store = (fo.node for fo in fos_of(order))

    response = cancel(api, order)

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "cancelled"
    assert [fo.status for fo in fos_of(order)] == ["cancelled", "cancelled"]
    assert held(api.red, east) == (5, 0)
    assert held(api.blue, store) == (5, 0)


def test_cancelling_after_the_pick_answers_202_and_waits_for_the_node(api, order):
    east_fo, store_fo = fos_of(order)
    api.client.post(url(east_fo, "accept"), {}, format="json")
    api.client.post(url(east_fo, "pick"), {}, format="json")

    response = cancel(api, order)

    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["status"] == "released"  # the picked part is still out there
    assert [e["name"] for e in body["timeline"]][-2:] == ["cancellation_requested", "partially_cancel"]
    fos = {fo["id"]: fo for fo in body["fulfillment_orders"]}
    assert fos[east_fo.pk]["cancel_request"]["lines"] == {str(east_fo.lines.get().pk): 2}
    assert fos[store_fo.pk]["status"] == "cancelled"
    assert held(api.red, east_fo.node) == (5, 2)
    assert OutboxEvent.objects.filter(type="fulfillment_order.cancel_requested").count() == 1
    again = cancel(api, order)  # asked twice: still one request for the same two units
    assert again.status_code == 202
    assert FulfillmentOrder.objects.get(pk=east_fo.pk).cancel_request["lines"] == {str(east_fo.lines.get().pk): 2}
    assert api.client.post(url(east_fo, "pack"), {"scans": ["0012345678905"] * 2}, format="json").status_code == 200

    confirmed = api.client.post(url(east_fo, "cancel"), {}, format="json")

    assert confirmed.status_code == 200, confirmed.json()
    assert confirmed.json()["status"] == "cancelled"
    assert held(api.red, east_fo.node) == (5, 0)
    assert Order.objects.get(pk=order.pk).status == "cancelled"
    assert api.client.post(url(east_fo, "cancel"), {}, format="json").status_code == 409


def test_a_partial_cancellation_takes_unpicked_units_first(api, order):
    east_fo = fos_of(order)[0]
    red = order.lines.get(sku="TSHIRT-RED-M")

    response = cancel(api, order, lines=[{"line": red.pk, "quantity": 1}])

    assert response.status_code == 200
    line = FulfillmentOrder.objects.get(pk=east_fo.pk).lines.get()
    assert (line.quantity, line.qty_cancelled, line.qty_open) == (2, 1, 1)
    assert held(api.red, east_fo.node) == (5, 1)
    assert FulfillmentOrder.objects.get(pk=east_fo.pk).status == "released"
