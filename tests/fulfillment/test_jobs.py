from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.execution.jobs import orders_complete_due, pick_delays_detect
from fulfillment.execution.release import order_release
from fulfillment.tasks import carrier_misses_detect as carrier_misses_task
from fulfillment.tasks import pick_delays_detect as pick_delays_task
from fulfillment.tracking.models import Shipment
from fulfillment.tracking.services import carrier_misses_detect
from oms.models import OpsException
from orders.models import Order
from tests.factories import NodeProfileFactory
from tests.fulfillment.helpers import dc, fos_of, routed_order, stock, tracking_event, url
from tests.fulfillment.test_shipping import packed

pytestmark = pytest.mark.django_db


def test_a_fulfilment_order_not_packed_within_its_nodes_sla_raises_one_pick_delay(api):
    east = dc(api)
    NodeProfileFactory(node=east, pick_sla_hours=4)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 1)])
    order_release(order=order)
    fo = fos_of(order)[0]

    assert pick_delays_detect(now=timezone.now() + timedelta(hours=3)) == 0
    assert pick_delays_detect(now=timezone.now() + timedelta(hours=5)) == 1
    assert pick_delays_task.delay().get() == 0  # once per fulfilment order, even once resolved
    OpsException.objects.filter(type="pick_delay").update(status="resolved")
    assert pick_delays_detect(now=timezone.now() + timedelta(hours=50)) == 0
    alert = OpsException.objects.get(type="pick_delay")
    assert alert.subject_id == str(fo.pk)
    assert "SLA is 4 h" in alert.message


def test_a_packed_fulfilment_order_is_not_delayed(api):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)])
    assert fos_of(order)[0].status == "packed"
    assert pick_delays_detect(now=timezone.now() + timedelta(days=3)) == 0


@pytest.fixture
def shipment(api):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)], promise_date=timezone.localdate() + timedelta(days=5))
    body = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]
    return Shipment.objects.select_related("carrier").get(pk=body["id"])


def test_a_label_never_scanned_raises_one_carrier_miss(api, shipment):
    assert carrier_misses_detect(now=timezone.now() + timedelta(hours=23)) == 0
    assert carrier_misses_detect(now=timezone.now() + timedelta(hours=25)) == 1
    assert carrier_misses_task.delay().get() == 0
    assert carrier_misses_detect(now=timezone.now() + timedelta(days=30)) == 0
    alert = OpsException.objects.get(type="carrier_miss")
    assert "no carrier scan within 24 h" in alert.message
    assert alert.subject_id == str(shipment.pk)


def test_a_parcel_not_delivered_by_the_promise_date_raises_a_carrier_miss(api, shipment):
    tracking_event(api.client, carrier=shipment.carrier.code, tracking_number=shipment.tracking_number,
                   status="in_transit", event_id="s-1", occurred_at=timezone.now().isoformat())  # fmt: skip
    assert carrier_misses_detect(now=timezone.now() + timedelta(days=2)) == 0  # scanned, promise not yet passed
    assert carrier_misses_detect(now=timezone.now() + timedelta(days=7)) == 1
    assert "not delivered by the promise date" in OpsException.objects.get(type="carrier_miss").message


def test_a_delivered_parcel_is_no_miss_and_the_order_completes_after_the_return_window(api, shipment):
    tracking_event(api.client, carrier=shipment.carrier.code, tracking_number=shipment.tracking_number,
                   status="delivered", event_id="d-1", occurred_at=timezone.now().isoformat())  # fmt: skip
    assert carrier_misses_detect(now=timezone.now() + timedelta(days=30)) == 0
    order = Order.objects.get(pk=shipment.order_id)
    assert order.status == "delivered"

    assert orders_complete_due(now=timezone.now() + timedelta(days=29)) == 0
    assert orders_complete_due(now=timezone.now() + timedelta(days=31)) == 1
    order.refresh_from_db()
    assert order.status == "completed"
    assert order.events.last().reason == "Return window of 30 days closed"


def test_a_final_sale_order_completes_once_delivered(api, shipment):
    api.red.returnable = False
    api.red.save()
    tracking_event(api.client, carrier=shipment.carrier.code, tracking_number=shipment.tracking_number,
                   status="delivered", event_id="d-2", occurred_at=timezone.now().isoformat())  # fmt: skip
    assert orders_complete_due(now=timezone.now() + timedelta(minutes=1)) == 1
