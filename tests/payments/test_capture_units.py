"""Fulfilment's captures (at release, per shipment) go through orders.payments: the value of
what goes, shipping with the first capture, spread over the tenders, once per reference."""

from __future__ import annotations

from decimal import Decimal

import pytest

from oms.actors import Actor
from orders.payments.models import CaptureTiming
from orders.payments.services import payment_capture_units, payment_captures_at
from tests.factories import MerchantPaymentSettingsFactory
from tests.payments.helpers import ledger, payment, place

pytestmark = pytest.mark.django_db
FULFILMENT = Actor.system("fulfilment")


def test_it_tells_fulfilment_when_the_merchant_captures_and_defaults_to_before_allocation(api):
    assert not payment_captures_at(api.merchant.pk, CaptureTiming.AT_RELEASE)
    assert not payment_captures_at(api.merchant.pk, CaptureTiming.PER_SHIPMENT)

    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")

    assert payment_captures_at(api.merchant.pk, CaptureTiming.AT_RELEASE)
    assert not payment_captures_at(api.merchant.pk, CaptureTiming.PER_SHIPMENT)


def test_it_captures_what_ships_with_shipping_first_over_the_tenders_once_per_reference(
    api, django_capture_on_commit_callbacks
):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="per_shipment")
    order, _ = place(
        api,
        django_capture_on_commit_callbacks,
        payment=None,
        payments=[
            payment("gc_123", kind="authorize", gateway="giftcard", amount="20.00"),
            payment("tok_visa_ok_split", amount="28.38"),
        ],
    )
    line = order.lines.get()  # 2 × 19.99 with 3.40 tax: 21.69 a unit; shipping 5.00

    assert payment_capture_units(order=order, units={line.pk: 1}, reference="ship:1", actor=FULFILMENT)
    assert payment_capture_units(order=order, units={line.pk: 1}, reference="ship:1", actor=FULFILMENT)
    first = [p.captured_amount for p in order.payments.order_by("pk")]
    assert first == [Decimal("20.00"), Decimal("6.69")], "the gift card first, then the card; asked twice, once"

    assert payment_capture_units(order=order, units={line.pk: 1}, reference="ship:2", actor=FULFILMENT)

    assert [p.captured_amount for p in order.payments.order_by("pk")] == [Decimal("20.00"), Decimal("28.38")]
    assert sorted(e.amount for e in ledger("capture")) == [Decimal("6.69"), Decimal("20.00"), Decimal("21.69")]


def test_a_declined_capture_answers_false_and_holds_the_order(api, django_capture_on_commit_callbacks):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")
    order, _ = place(api, django_capture_on_commit_callbacks)
    order.payments.update(token="tok_decline")
    line = order.lines.get()

    assert not payment_capture_units(order=order, units={line.pk: 2}, reference="release:1", actor=FULFILMENT)

    order.refresh_from_db()
    assert order.status == "on_hold"
    assert order.holds.get().type == "payment"
    assert order.payments.get().captured_amount == 0
