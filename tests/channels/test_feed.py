"""The generic feed: a CSV at a URL or an uploaded JSON file, read through the field mapping."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest

from orders.channels.models import ChannelConnection
from orders.channels.services.connections import connection_create
from orders.channels.services.sync import channel_pull
from orders.models import Order
from tests.channels.servers import FeedServer
from tests.factories import ChannelFactory

pytestmark = pytest.mark.django_db

CSV = """OrderNo,Placed,Cur,Mail,First,Last,Street,Town,State,Zip,Country,Item,Qty,Price,Off,VAT,Ship,Paid
A-1,2026-01-05T09:00:00Z,USD,a@ex.com,Ann,Lee,1 Main St,Peoria,IL,61602,US,TSHIRT-RED-M,2,10.00,1.00,0.80,4.99,yes
A-1,2026-01-05T09:00:00Z,USD,a@ex.com,Ann,Lee,1 Main St,Peoria,IL,61602,US,TSHIRT-BLUE-M,1,12.50,0,1.00,4.99,yes
A-2,2026-01-05T09:10:00Z,USD,b@ex.com,Bob,Ray,2 Oak Ave,Peoria,IL,61602,US,TSHIRT-RED-M,1,10.00,0,0.80,0,no
"""
FIELDS = {
    "external_id": "OrderNo", "placed_at": "Placed", "currency": "Cur", "email": "Mail", "first_name": "First",
    "last_name": "Last", "ship_line1": "Street", "ship_city": "Town", "ship_region": "State",
    "ship_postal_code": "Zip", "ship_country": "Country", "sku": "Item", "quantity": "Qty", "unit_price": "Price",
    "discount": "Off", "tax": "VAT", "shipping_price": "Ship", "paid": "Paid",
}  # fmt: skip


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer(CSV)
    yield server
    server.close()


def feed(api, url, **options):
    return connection_create(
        merchant=api.merchant,
        channel=ChannelFactory(merchant=api.merchant, code="market"),
        kind=ChannelConnection.Kind.FEED,
        base_url=url,
        credentials={"token": "feed-token"},
        options={"feed_format": "csv", "feed_fields": FIELDS, **options},
    )


def test_a_csv_feed_at_a_url_is_grouped_into_orders_by_the_mapping(api, feed_server):
    connection = feed(api, f"{feed_server.url}/orders.csv")
    run = channel_pull(connection_id=connection.pk)
    assert (run.fetched, run.created, run.rejected) == (2, 2, 0), run.rejections
    first = Order.objects.get(external_id="A-1")
    assert first.lines.count() == 2
    assert first.total == Decimal("38.29")  # 2 x 10.00 - 1.00 + 0.80, + 12.50 + 1.00, + 4.99 shipping
    assert Order.objects.get(external_id="A-2").payments.get().transaction_type == "authorize"
    assert channel_pull(connection_id=connection.pk).duplicates == 2


def test_an_uploaded_json_feed_makes_one_run(api):
    connection = feed(api, "https://feeds.example/unused", feed_format="json",
                      feed_fields={**FIELDS, "sku": "item.sku", "quantity": "item.qty"})  # fmt: skip
    record = {"OrderNo": "J-1", "Placed": "2026-01-05T09:00:00Z", "Cur": "USD", "Mail": "j@example.com",
              "First": "Jo", "Last": "Park", "Street": "1 Main St", "Town": "Springfield", "State": "IL",
              "Zip": "62701", "Country": "US", "item": {"sku": "TSHIRT-RED-M", "qty": 3}, "Price": 9.99,
              "Ship": 0, "Paid": True, "Ignored": "unknown fields are ignored"}  # fmt: skip
    response = api.client.post(f"/api/v1/channels/connections/{connection.uuid}/feed/", [record], format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 1
    assert Order.objects.get(external_id="J-1").total == Decimal("29.97")


@pytest.mark.parametrize("body", [37193, "orders", {"orders": 5}, {"lines": "A-1"}])
def test_an_upload_that_is_not_an_array_of_records_is_refused_with_the_reason(api, body):
    connection = feed(api, "https://feeds.example/unused", feed_format="json")
    response = api.client.post(f"/api/v1/channels/connections/{connection.uuid}/feed/", body, format="json")
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert error["code"] == "invalid"
    assert "expected an array of records" in error["message"]
    assert not connection.runs.exists()
