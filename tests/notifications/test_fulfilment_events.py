"""End to end through routing and fulfilment: the e-mails and webhooks of allocation, release,
shipping, carrier milestones, backorders and pick-up, over real SMTP and HTTP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from fulfillment.models import FulfillmentOrder
from notifications import signing
from orders.models import Order
from tests import payloads
from tests.factories import NotificationSettingsFactory, WebhookSubscriptionFactory
from tests.fulfillment.helpers import carriers, dc, scans_for, stock, tracking_event, url
from tests.notifications.conftest import parts

pytestmark = pytest.mark.django_db

RED = {"sku": "TSHIRT-RED-M", "quantity": 2, "unit_price": "19.99", "tax": "0.00"}


def place(api, run_commits, lines, **changes):
    body = payloads.order(lines=lines, placed_at=(timezone.now() - timedelta(hours=1)).isoformat(), **changes)
    total = sum(Decimal(line["unit_price"]) * line["quantity"] for line in lines) + Decimal(body["shipping"]["price"])
    body["total"] = body["payment"]["amount"] = str(total)
    response = run_commits(api.client.post, "/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"])


def act(api, run_commits, fo, action, body=None):
    response = run_commits(api.client.post, url(fo, action), body or {}, format="json")
    assert response.status_code in (200, 201), (action, response.json())
    return response.json()


def test_a_shipped_order_e_mails_each_milestone_and_posts_each_event(api, run_commits, smtp_server, endpoint):
    carriers()
    east = dc(api, "DC-EAST", ships_to=["US"])
    stock(api.red, east, 10)
    NotificationSettingsFactory(
        merchant=api.merchant, tracking_url_template="https://track.acme.example/{carrier}/{tracking_number}"
    )
    sub = WebhookSubscriptionFactory(
        merchant=api.merchant, url=endpoint.url, event_types=["order.allocated", "order.released", "shipment.*"]
    )
    order = place(api, run_commits, [RED])
    assert Order.objects.get(pk=order.pk).status == "released"
    fo = FulfillmentOrder.objects.get(order=order)
    for action in ("accept", "pick"):
        act(api, run_commits, fo, action)
    act(api, run_commits, fo, "pack", {"scans": scans_for(fo)})
    [shipment] = act(api, run_commits, fo, "ship")
    carrier, tracking = shipment["carrier"], shipment["tracking_number"]
    now = timezone.now()
    for i, status in enumerate(("out_for_delivery", "delivered")):
        response = run_commits(
            tracking_event, api.client, carrier=carrier, tracking_number=tracking, status=status,
            event_id=f"E-{status}", occurred_at=(now + timedelta(hours=i + 1)).isoformat(),
        )  # fmt: skip
        assert response.status_code == 201, response.json()

    n = order.number
    assert smtp_server.subjects() == [
        f"Thank you for your order {n}",
        f"Your order {n} is on its way",
        f"Your order {n} is out for delivery today",
        f"Your order {n} was delivered",
    ]
    shipped = parts(smtp_server.one("is on its way"))
    link = f"https://track.acme.example/{carrier}/{tracking}"
    assert f"Track your package: {link}" in shipped["text/plain"]
    assert f'href="{link}"' in shipped["text/html"]
    assert "2 × Red T-shirt M (TSHIRT-RED-M)" in shipped["text/plain"]
    assert f"Carrier: {shipment['carrier_name']}" in shipped["text/plain"]
    assert link in parts(smtp_server.one("out for delivery"))["text/plain"]

    assert endpoint.types() == [
        "order.allocated", "order.released", "shipment.shipped", "shipment.out_for_delivery", "shipment.delivered",
    ]  # fmt: skip
    for request in endpoint.requests:
        assert signing.verify(sub.secret, request["headers"]["OMS-Signature"], request["body"])
    posted = {e["type"]: e for e in endpoint.events()}
    assert posted["order.released"]["object"]["number"] == n
    shipped_event = posted["shipment.shipped"]
    assert (shipped_event["object_type"], shipped_event["object"]["tracking_number"]) == ("shipment", tracking)
    assert shipped_event["payload"]["order"] == n
    assert posted["shipment.delivered"]["object"]["status"] == "delivered"


def test_an_order_without_stock_posts_order_backordered(api, run_commits, endpoint):
    WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=["order.backordered"])
    order = place(api, run_commits, [RED], external_id="NO-STOCK")
    assert Order.objects.get(pk=order.pk).status == "backordered"
    [event] = endpoint.events()
    assert (event["type"], event["object"]["number"], event["object"]["status"]) == (
        "order.backordered", order.number, "backordered",
    )  # fmt: skip


def test_a_pick_up_order_e_mails_ready_for_pick_up_and_posts_picked_up(api, run_commits, smtp_server, endpoint):
    api.store.capabilities = ["pickup"]
    api.store.name = "Acme Downtown"
    api.store.save()
    stock(api.red, api.store, 3)
    WebhookSubscriptionFactory(merchant=api.merchant, url=endpoint.url, event_types=["order.ready_for_pickup",
                                                                                     "order.picked_up"])  # fmt: skip
    order = place(
        api, run_commits, [{**RED, "quantity": 1}], external_id="BOPIS",
        fulfillment={"type": "pickup", "location": api.store.code},
        shipping={"service_level": "pickup", "price": "0.00", "tax": "0.00"},
    )  # fmt: skip
    fo = FulfillmentOrder.objects.get(order=order)
    act(api, run_commits, fo, "accept")
    act(api, run_commits, fo, "pick")
    act(api, run_commits, fo, "pack", {"scans": scans_for(fo)})
    ready = parts(smtp_server.one("is ready for pick-up"))
    assert "Acme Downtown" in ready["text/plain"]
    assert "Acme Downtown" in ready["text/html"]
    act(api, run_commits, fo, "picked-up")
    assert endpoint.types() == ["order.ready_for_pickup", "order.picked_up"]
    assert endpoint.events()[1]["object"]["status"] == "picked_up"
