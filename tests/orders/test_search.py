"""Order search (orders.search): the admin's search box and the API's `q` find an order by what
a customer or a colleague quotes, and the order list's query count does not grow with the data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from fulfillment.tracking.models import Shipment
from orders.models import Order
from orders.search import order_search
from tests.conftest import ON_POSTGRES
from tests.factories import OrderFactory, OrderLineFactory, ProductFactory
from tests.fulfillment.helpers import dc, shipped, stock

pytestmark = pytest.mark.django_db
CHANGELIST = "admin:orders_order_changelist"


@pytest.fixture
def target(api):
    """A shipped order with a recognisable number, SKU, name, phone, postal code and channel name."""
    east = dc(api)
    lamp = ProductFactory(merchant=api.merchant, sku="LAMP-BRASS-XL", name="Brass reading lamp",
                          barcode="0099887766554")  # fmt: skip
    stock(lamp, east, 3)
    order = shipped(api, [(lamp, east, 1)], number="ACME-004217", external_id="shop-88123",
                    channel_order_name="#1042", email="jo.bloggs@example.org", phone="+14155550123",
                    shipping_address={"first_name": "Jo", "last_name": "Bloggs", "line1": "9 Elm St",
                                      "city": "Austin", "region": "TX", "postal_code": "78701",
                                      "country": "US"})  # fmt: skip
    OrderFactory.create_batch(3, merchant=api.merchant, channel=api.web)  # noise
    return order


def found(term: str) -> list[str]:
    return list(order_search(Order.objects.all(), term).values_list("number", flat=True))


@pytest.mark.parametrize(
    "term",
    ["004217", "acme-0042", "BRASS-X", "reading lamp", "shop-881", "#1042", "bloggs@example", "78701",
     "(415) 555-0123", "415 555 0123"],
)  # fmt: skip
def test_it_finds_the_order_by_what_a_customer_quotes(target, term):
    assert found(term) == [target.number]


def test_it_finds_the_order_by_a_part_of_its_tracking_number(target):
    tracking = Shipment.objects.get(order=target).tracking_number
    assert found(tracking[-8:].lower()) == [target.number]


def test_a_postal_code_is_matched_whole_and_a_short_number_is_not_a_phone(target):
    assert found("7870") == []
    assert found("0123") == []


def list_queries(client, term: str) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as queries:
        page = client.get(reverse(CHANGELIST), {"q": term})
    assert page.status_code == 200
    return len(queries), page.content.decode()


def test_the_admin_list_searches_in_a_fixed_number_of_queries(api, target, csr):
    count, page = list_queries(csr, "BRASS")
    assert target.number in page
    for n in range(12):  # more matching orders, with lines and holds, must not add queries
        order = OrderFactory(merchant=api.merchant, channel=api.web)
        OrderLineFactory(order=order, sku=f"BRASS-{n}", name="Brass hook")
    more, page = list_queries(csr, "BRASS")
    assert "BRASS-11" not in page  # the list shows orders, not lines
    assert page.count('class="field-number"') == 13
    assert more == count
    # session, user, permissions, the filtered and the total count, the page, its holds, the
    # filters' choices (channels, merchants, date hierarchy) and the admin's saved-messages.
    assert count == 13


def test_the_api_searches_with_q(api, target):
    response = api.client.get("/api/v1/orders/", {"q": "reading lamp"})
    assert response.status_code == 200
    assert [o["number"] for o in response.json()["results"]] == [target.number]


@pytest.mark.postgres
def test_postgres_serves_a_partial_sku_search_from_the_trigram_index(target):
    assert ON_POSTGRES
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        sql, params = order_search(Order.objects.all(), "BRASS-X").query.sql_with_params()
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "orderline_sku_trgm" in plan
