from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from fulfillment.execution.release import order_release
from oms.models import OutboxEvent
from orders.chain import order_chains_due
from orders.models import Order
from tests.factories import FulfillmentSettingsFactory, MerchantPaymentSettingsFactory
from tests.fulfillment.helpers import dc, fos_of, routed_order, stock

pytestmark = pytest.mark.django_db


def events(order: Order, type: str) -> int:
    return OutboxEvent.objects.filter(type=type, subject_type="orders.order", subject_id=str(order.pk)).count()


def test_it_releases_an_allocated_order_to_its_nodes(api):
    east = dc(api)
    stock(api.red, east, 5)
    stock(api.blue, api.store, 5)
    order = routed_order(api, [(api.red, east, 2), (api.blue, api.store, 1)])

    released = order_release(order=order)

    order.refresh_from_db()
    assert order.status == "released"
    assert sorted(fo.node.code for fo in released) == ["ACME-STORE-1", "DC-EAST"]
    assert [fo.status for fo in fos_of(order)] == ["released", "released"]
    assert events(order, "order.released") == 1
    assert order_release(order=order) == []  # nothing twice


def test_it_waits_for_the_remorse_period(api):
    FulfillmentSettingsFactory(merchant=api.merchant, remorse_minutes=30)
    east = dc(api)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 1)], placed_at=timezone.now() - timedelta(minutes=10))

    order_chains_due()
    assert Order.objects.get(pk=order.pk).status == "allocated"
    order_chains_due(now=timezone.now() + timedelta(minutes=21))
    assert Order.objects.get(pk=order.pk).status == "released"


def test_it_does_not_release_an_order_on_hold(api):
    from orders.services.holds import hold_place
    from tests.fulfillment.helpers import NODE_ACTOR

    east = dc(api)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 1)])
    hold_place(order=order, type="manual", reason="Customer called", actor=NODE_ACTOR)

    assert order_release(order=order) == []
    assert fos_of(order)[0].status == "created"


def test_it_captures_before_releasing_where_the_merchant_captures_at_release(api):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    east = dc(api)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 2)])

    order_release(order=order)

    payment = order.payments.get()
    assert payment.captured_amount == payment.authorized_amount  # the order's only node: all of it
    assert Order.objects.get(pk=order.pk).status == "released"


def test_a_declined_capture_at_release_sends_nothing_to_the_node_and_holds_the_order(api):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    east = dc(api)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 2)])
    order.payments.update(token="tok_decline")

    assert order_release(order=order) == []

    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.holds.get().type == "payment"
    assert fos_of(order)[0].status == "created"


def test_a_capture_at_release_that_times_out_releases_once_the_payments_retry_succeeds(api):
    from orders.payments.services import payments_retry_due

    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    east = dc(api)
    stock(api.red, east, 5)
    order = routed_order(api, [(api.red, east, 1)])
    order.payments.update(token="tok_timeout_once")

    assert order_release(order=order) == []
    order_chains_due()  # the retry waits for its backoff: not sent again from here
    assert order.payments.get().captured_amount == 0
    assert Order.objects.get(pk=order.pk).status == "allocated"

    payments_retry_due(now=timezone.now() + timedelta(hours=2))
    order_chains_due()

    order.refresh_from_db()
    assert order.status == "released"
    payment = order.payments.get()
    assert payment.captured_amount == payment.authorized_amount
    assert payment.transactions.filter(kind="capture", outcome="succeeded").count() == 1
