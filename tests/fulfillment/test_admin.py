"""The Warehouse queue in the admin: the same services as the API, the pack form verifies scans."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from fulfillment.tracking.models import Shipment
from tests.fulfillment.helpers import carriers, fos_of, routed_order, stock

pytestmark = pytest.mark.django_db


def act(client, fo, action, data=None):
    return client.post(reverse("admin:fulfillment_fulfillmentorder_act", args=[fo.pk, action]), data or {})


def test_a_store_works_its_queue_picks_and_packs_with_the_scan_screens(api, warehouse):
    carriers()
    stock(api.red, api.store, 5)
    order = routed_order(api, [(api.red, api.store, 2)])
    order_release(order=order)
    fo = fos_of(order)[0]
    line = fo.lines.get()

    queue = warehouse.get(reverse("admin:fulfillment_fulfillmentorder_changelist"), follow=True)
    assert queue.status_code == 200
    assert order.number in queue.content.decode()
    picked = act(warehouse, fo, "pick", {f"picked-{line.pk}": "2"})
    assert picked.url == reverse("admin:fulfillment_fulfillmentorder_act", args=[fo.pk, "pack"])
    form = warehouse.get(picked.url)
    assert "0012345678905" in form.content.decode()

    wrong = act(warehouse, fo, "pack", {"parcels": json.dumps([["0012345678905"]])})
    assert wrong.status_code == 200
    assert "scanned 1 × 0012345678905, expected 2" in wrong.content.decode()
    assert FulfillmentOrder.objects.get(pk=fo.pk).status == "picked"

    act(warehouse, fo, "pack", {"parcels": json.dumps([["0012345678905", "0012345678905"]])})

    fo.refresh_from_db()
    assert (fo.status, fo.pack_corrected) == ("shipped", True)
    shipment = Shipment.objects.get(fulfillment_order=fo)
    label = warehouse.get(reverse("admin:fulfillment_shipment_document", args=[shipment.pk, "label_pdf"]))
    assert label["Content-Type"] == "application/pdf"
    assert warehouse.get(reverse("admin:orders_order_change", args=[order.pk])).status_code == 403
    detail = warehouse.get(reverse("admin:fulfillment_fulfillmentorder_change", args=[fo.pk])).content.decode()
    assert shipment.tracking_number in detail
    assert "Packed and shipped 1 parcel(s)" in detail  # the admin log, on the object
    assert order.shipping_address["line1"] in detail  # the ship-to, without the order page
    assert order.email not in detail
    assert reverse("admin:orders_order_change", args=[order.pk]) not in detail  # no link to a page it may not open


def test_an_illegal_step_is_a_message_not_an_error(api, warehouse):
    stock(api.red, api.store, 5)
    order = routed_order(api, [(api.red, api.store, 1)])
    order_release(order=order)
    fo = fos_of(order)[0]
    response = act(warehouse, fo, "ship")
    assert response.status_code == 302
    messages = [str(m) for m in warehouse.get(response.url).context["messages"]]
    assert any("only a packed one ships" in m for m in messages)
