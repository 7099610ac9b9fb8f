"""Authorizations lapse: renewed a day ahead where the gateway allows, else a hold in time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Payment
from orders.payments.gateways.sandbox import SandboxGateway
from orders.payments.services import payments_reauthorize_due
from tests.factories import MerchantPaymentSettingsFactory
from tests.payments.helpers import payment, place, reached_ready

pytestmark = pytest.mark.django_db


class NoReauthGateway(SandboxGateway):
    code = "noreauth"
    supports_reauthorization = False


@pytest.fixture
def waiting(api, django_capture_on_commit_callbacks):
    """An order ready on its authorization (captured at release), as a backorder would wait."""
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="at_release")

    def make(token="tok_visa_ok", expires_in=timedelta(hours=20), gateway="sandbox"):
        order, _ = place(api, django_capture_on_commit_callbacks, payment=payment(token, gateway=gateway))
        Payment.objects.filter(order=order).update(authorization_expires_at=timezone.now() + expires_in)
        return order

    return make


def test_it_renews_an_authorization_a_day_before_it_expires(waiting):
    order = waiting()
    assert payments_reauthorize_due() == 1
    paid = Payment.objects.get(order=order)
    assert paid.authorization_expires_at > timezone.now() + timedelta(days=6)
    assert paid.authorization_reference.startswith("sbx_auth_")
    assert paid.transactions.filter(kind="reauthorize", outcome="succeeded").exists()
    order.refresh_from_db()
    assert reached_ready(order)


def test_it_leaves_authorizations_that_are_not_due_alone(waiting):
    order = waiting(expires_in=timedelta(days=3))
    payments_reauthorize_due()
    assert not Payment.objects.get(order=order).transactions.filter(kind="reauthorize").exists()


def test_a_refused_reauthorization_holds_the_order_for_a_csr(waiting):
    order = waiting(token="tok_expired_auth")
    payments_reauthorize_due()
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert "expired_card" in order.holds.get().reason
    assert order.holds.get().details["payment"] == Payment.objects.get(order=order).pk


def test_it_holds_in_time_where_the_gateway_cannot_reauthorize(waiting, settings):
    settings.PAYMENT_GATEWAYS = {**settings.PAYMENT_GATEWAYS, "noreauth": f"{__name__}.NoReauthGateway"}
    order = waiting(gateway="noreauth")
    payments_reauthorize_due()
    order.refresh_from_db()
    assert order.status == "on_hold"
    assert "cannot renew it" in order.holds.get().reason
    payments_reauthorize_due()
    assert order.holds.count() == 1, "one hold, not one per run"


def test_an_authorization_already_lapsed_is_marked_expired_and_held(waiting):
    order = waiting(expires_in=timedelta(hours=-1))
    payments_reauthorize_due()
    order.refresh_from_db()
    assert Payment.objects.get(order=order).status == "expired"
    assert order.status == "on_hold"
