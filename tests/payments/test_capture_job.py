from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Payment
from orders.payments.models import PaymentTransaction
from tests.factories import MerchantPaymentSettingsFactory
from tests.payments.helpers import body, events, ledger, payment, place, reached_ready

pytestmark = pytest.mark.django_db


def test_it_moves_a_capture_order_to_ready_right_after_capture(api, django_capture_on_commit_callbacks):
    order, response = place(api, django_capture_on_commit_callbacks, payment=payment(kind="capture"))
    assert response["status"] == "validated", "the capture response shows the state at commit"
    assert reached_ready(order)
    paid = Payment.objects.get(order=order)
    assert (paid.status, paid.captured_amount) == ("captured", Decimal("48.38"))
    assert ledger("capture") == [], "the channel took the money: the OMS charges nothing"
    assert {"payment.captured", "order.ready"} <= set(events(order))


def test_it_captures_an_authorize_order_with_its_token_before_it_is_ready(api, django_capture_on_commit_callbacks):
    order, response = place(api, django_capture_on_commit_callbacks)
    assert response["status"] == "validated"
    assert reached_ready(order)
    paid = Payment.objects.get(order=order)
    assert (paid.status, paid.captured_amount) == ("captured", Decimal("48.38"))
    [entry] = ledger("capture", "tok_visa_ok")
    assert entry.amount == Decimal("48.38")
    kinds = list(paid.transactions.values_list("kind", "source", "outcome"))
    assert kinds == [("authorize", "channel", "succeeded"), ("capture", "gateway", "succeeded")]
    emitted = events(order)
    assert emitted.index("payment.captured") < emitted.index("order.ready")


@pytest.mark.parametrize("timing", ["at_release", "per_shipment"])
def test_it_makes_an_order_ready_on_the_authorization_when_the_merchant_captures_later(
    api, django_capture_on_commit_callbacks, timing
):
    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing=timing)
    order, _ = place(api, django_capture_on_commit_callbacks)
    assert reached_ready(order)
    assert Payment.objects.get(order=order).status == "authorized"
    assert ledger("capture") == []


def test_it_captures_exactly_what_ships_when_called_per_shipment(api, django_capture_on_commit_callbacks):
    from oms.actors import Actor
    from orders.payments.services import payment_capture

    MerchantPaymentSettingsFactory(merchant=api.merchant, capture_timing="per_shipment")
    order, _ = place(api, django_capture_on_commit_callbacks)
    paid = Payment.objects.get(order=order)
    actor = Actor.system("fulfilment")
    first = payment_capture(payment=paid, amount=Decimal("20.00"), reference="shipment-1", actor=actor)
    again = payment_capture(payment=paid, amount=Decimal("20.00"), reference="shipment-1", actor=actor)
    assert first.pk == again.pk, "asking twice for one shipment is one capture"
    payment_capture(payment=paid, amount=Decimal("28.38"), reference="shipment-2", actor=actor)
    paid = Payment.objects.get(pk=paid.pk)
    assert (paid.status, paid.captured_amount) == ("captured", Decimal("48.38"))
    assert sorted(e.amount for e in ledger("capture")) == [Decimal("20.00"), Decimal("28.38")]


def test_it_captures_each_tender_of_a_split_payment(api, django_capture_on_commit_callbacks):
    order, _ = place(
        api,
        django_capture_on_commit_callbacks,
        payment=None,
        payments=[
            payment("gc_123", kind="authorize", gateway="giftcard", amount="20.00"),
            payment("tok_visa_ok_split", amount="28.38"),
        ],
    )
    assert reached_ready(order)
    assert [p.captured_amount for p in order.payments.order_by("pk")] == [Decimal("20.00"), Decimal("28.38")]


def test_a_second_run_of_the_job_charges_nothing_more(api, django_capture_on_commit_callbacks):
    from orders.tasks import order_chain

    order, _ = place(api, django_capture_on_commit_callbacks)
    order_chain.delay(order.pk)  # a redelivery after the first run finished
    assert len(ledger("capture")) == 1
    assert PaymentTransaction.objects.filter(kind="capture").count() == 1


def test_a_job_that_died_after_the_gateway_charged_is_not_charged_twice(api):
    """The worker sent the capture, the gateway charged, the worker died before recording it:
    the redelivered job sends the same idempotency key and the gateway answers the first result."""
    from oms.actors import Actor
    from orders.payments import executor, services
    from orders.payments.gateways import gateway_get
    from orders.tasks import order_chain

    response = api.client.post("/api/v1/orders/", body(), format="json")
    order_id = Payment.objects.get(order__number=response.json()["number"]).order_id
    _, [txn_id] = services._advance(order_id, Actor.system("test"))  # the job's first half, committed
    txn = PaymentTransaction.objects.get(pk=txn_id)
    gateway_get("sandbox").capture(
        token=txn.token, authorization=txn.token, amount=txn.amount, currency="USD", idempotency_key=txn.idempotency_key
    )  # the call went through; then the worker died
    order_chain.delay(order_id)  # redelivery
    executor.execute(txn_id, actor=Actor.system("sweeper"))  # and the sweeper too
    assert len(ledger("capture")) == 1
    paid = Payment.objects.get(order_id=order_id)
    assert (paid.status, paid.captured_amount) == ("captured", Decimal("48.38"))


@pytest.mark.django_db(transaction=True)
def test_an_order_captured_while_the_broker_is_down_still_reaches_ready(api):
    """The after-commit job never reached the broker: the capture answers 201 all the same and
    the beat sweep moves the order on."""
    from datetime import timedelta

    from django.utils import timezone

    from orders.chain import order_chains_due
    from orders.models import Order
    from tests import payloads
    from tests.conftest import unreachable_broker

    body = payloads.order(payment={"transaction_type": "capture", "gateway": "sandbox", "token": "tok_visa_ok",
                                   "amount": "48.38"})  # fmt: skip
    with unreachable_broker():
        response = api.client.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201
    order = Order.objects.get(number=response.json()["number"])
    assert order.status == "validated"
    order_chains_due()
    assert Order.objects.get(pk=order.pk).status == "validated", "too recent: its job may still be on its way"
    assert order_chains_due(now=timezone.now() + timedelta(minutes=3)) == 1
    assert Order.objects.get(pk=order.pk).status != "validated"
