"""The warehouse screens: the queue by cut-off with its flags, pick lists, short pick from the
screen, and multi-parcel pack and ship with a label per parcel."""

from __future__ import annotations

import json
from datetime import time, timedelta

import pypdfium2
import pytest
from django.urls import reverse
from django.utils import timezone

from fulfillment.execution.release import order_release
from fulfillment.models import FulfillmentOrder
from fulfillment.tracking.models import Shipment
from inventory.models import StockLevel
from oms.actors import Actor
from oms.models import OpsException
from orders.services.holds import hold_place
from tests.factories import ProductFactory
from tests.fulfillment.helpers import carriers, dc, fos_of, routed_order, stock

pytestmark = pytest.mark.django_db
QUEUE = "admin:fulfillment_fulfillmentorder_changelist"
RED, BLUE = "0012345678905", "0012345678912"


def released(api, parts, **order):
    result = routed_order(api, parts, **order)
    order_release(order=result)
    return result


def screen(fo, name):
    return reverse("admin:fulfillment_fulfillmentorder_act", args=[fo.pk, name])


def test_the_queue_puts_the_earliest_cutoff_and_most_urgent_service_first_and_flags_holds(api, warehouse):
    early = dc(api, "DC-EARLY", cutoff_time=time(14, 0))
    stock(api.red, early, 20)
    stock(api.red, api.store, 20)
    today = timezone.localdate()
    standard = released(api, [(api.red, early, 1)], service_level="standard", promise_date=today + timedelta(days=5))
    express = released(api, [(api.red, early, 1)], service_level="express", promise_date=today + timedelta(days=2))
    store = released(api, [(api.red, api.store, 1)], service_level="next_day")
    hold_place(order=store, type="manual", reason="customer called", actor=Actor.system("tests"))

    page = warehouse.get(reverse(QUEUE), {"status__in": "released,accepted"}).content.decode()
    assert page.index(express.number) < page.index(standard.number) < page.index(store.number)
    assert "cut-off 14:00" in page
    assert "ON HOLD" in page
    assert f"{(today + timedelta(days=2)):%a %d %b}" in page


def test_a_pick_list_for_a_batch_walks_the_bins_and_accepts_the_orders(api, warehouse):
    east = dc(api)
    stock(api.red, east, 20)
    stock(api.blue, east, 20)
    StockLevel.objects.filter(product=api.red, node=east).update(bin_location="C-09-1")
    StockLevel.objects.filter(product=api.blue, node=east).update(bin_location="A-01-3")
    first = released(api, [(api.red, east, 2), (api.blue, east, 1)])
    second = released(api, [(api.red, east, 3)])
    ids = [str(fo.pk) for fo in fos_of(first) + fos_of(second)]

    response = warehouse.post(reverse(QUEUE), {"action": "pick_list_by_bin", "_selected_action": ids})

    assert response["Content-Type"] == "application/pdf"
    text = pypdfium2.PdfDocument(response.content)[0].get_textpage().get_text_range()
    assert "2 fulfilment order(s), 6 unit(s), bin order" in text
    assert text.index("A-01-3") < text.index("C-09-1")  # the walk: bin A before bin C
    assert f"{first.number} (FO {ids[0]}) × 2" in text
    assert set(FulfillmentOrder.objects.filter(pk__in=ids).values_list("status", flat=True)) == {"accepted"}
    by_sku = warehouse.post(reverse(QUEUE), {"action": "pick_list_by_sku", "_selected_action": ids})
    text = pypdfium2.PdfDocument(by_sku.content)[0].get_textpage().get_text_range()
    assert text.index("TSHIRT-BLUE-M") < text.index("TSHIRT-RED-M")


def test_a_short_pick_from_the_screen_sends_the_missing_units_back(api, warehouse):
    east = dc(api)
    stock(api.red, east, 5)
    order = released(api, [(api.red, east, 3)])
    fo = fos_of(order)[0]
    line = fo.lines.get()
    assert 'value="3"' in warehouse.get(screen(fo, "pick")).content.decode()

    response = warehouse.post(screen(fo, "pick"), {f"picked-{line.pk}": "2"}, follow=True)

    assert "1 unit(s) short (sent back to routing)" in response.content.decode()
    line.refresh_from_db()
    assert (line.qty_picked, line.qty_cancelled) == (2, 1)
    assert OpsException.objects.filter(type="short_pick", subject_id=str(fo.pk)).exists()
    bad = warehouse.post(screen(FulfillmentOrder.objects.get(pk=fo.pk), "pick"), {f"picked-{line.pk}": "x"})
    assert bad.status_code == 200


def test_two_parcels_are_packed_and_shipped_with_a_label_each(api, warehouse):
    carriers()
    east = dc(api)
    stock(api.red, east, 5)
    stock(api.blue, east, 5)
    order = released(api, [(api.red, east, 2), (api.blue, east, 1)])
    fo = fos_of(order)[0]
    warehouse.post(screen(fo, "pick"), {f"picked-{line.pk}": str(line.quantity) for line in fo.lines.all()})

    response = warehouse.post(
        screen(fo, "pack"),
        {"parcels": json.dumps([[RED, RED], [BLUE]]), "rejected": json.dumps(["0000000000000"])},
        follow=True,
    )

    assert "packed and shipped 2 parcel(s), one label each" in response.content.decode()
    fo.refresh_from_db()
    assert (fo.status, fo.pack_corrected) == ("shipped", True)
    shipments = list(Shipment.objects.filter(fulfillment_order=fo).order_by("pk"))
    assert [[(x.order_line.sku, x.quantity) for x in s.lines.all()] for s in shipments] == [
        [("TSHIRT-RED-M", 2)],
        [("TSHIRT-BLUE-M", 1)],
    ]
    assert all(s.documents.filter(kind="label_pdf").exists() for s in shipments)


def test_parcels_that_do_not_hold_what_was_picked_are_refused_and_nothing_ships(api, warehouse):
    carriers()
    east = dc(api)
    other = ProductFactory(merchant=api.merchant, sku="MUG", barcode="0099")
    stock(api.red, east, 5)
    order = released(api, [(api.red, east, 2)])
    fo = fos_of(order)[0]
    warehouse.post(screen(fo, "pick"), {f"picked-{fo.lines.get().pk}": "2"})

    response = warehouse.post(screen(fo, "pack"), {"parcels": json.dumps([[RED], [other.barcode]])})

    assert response.status_code == 200
    assert "Rescan the parcels" in response.content.decode()
    assert FulfillmentOrder.objects.get(pk=fo.pk).status == "picked"
    assert not Shipment.objects.filter(fulfillment_order=fo).exists()
