"""Races, on PostgreSQL with real parallel connections: the capture job run twice at once
charges once (checked in the sandbox's own ledger), and concurrent refunds never exceed what
was captured."""

from __future__ import annotations

import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection

from oms.actors import Actor
from oms.errors import Conflict
from orders.models import Order, Payment
from orders.payments.models import PaymentTransaction, SandboxLedgerEntry
from orders.payments.services import refund_issue
from orders.tasks import order_chain
from tests.factories import OrderFactory, OrderLineFactory, PaymentFactory
from tests.payments.helpers import reached_ready

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_together(n: int, fn: Callable[[int], object]) -> list[object]:
    """Run fn(0..n-1) in n threads released at once; return results (exceptions included)."""
    barrier = threading.Barrier(n)
    results: list[object] = [None] * n

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def validated_order(api, token: str, kind: str = "authorize") -> Order:
    order = OrderFactory(merchant=api.merchant, channel=api.web, total=Decimal("48.38"), shipping_price=Decimal("5.00"))
    OrderLineFactory(order=order, product=api.red, unit_price=Decimal("19.99"), quantity=2, tax=Decimal("3.40"))
    status = "authorized" if kind == "authorize" else "captured"
    PaymentFactory(
        order=order,
        token=token,
        transaction_type=kind,
        status=status,
        authorized_amount=Decimal("48.38"),
        captured_amount=Decimal("48.38") if kind == "capture" else Decimal(0),
    )
    return order


@pytest.mark.parametrize("runs", [2, 6])
def test_the_capture_job_run_concurrently_charges_once(api, runs):
    orders = [validated_order(api, f"tok_visa_ok_race_{runs}_{i}") for i in range(5)]
    for order in orders:
        results = run_together(runs, lambda _i, order=order: order_chain(order.pk))
        assert all(r is None for r in results), results
    for order in orders:
        token = order.payments.get().token
        charges = SandboxLedgerEntry.objects.filter(kind="capture", token=token)
        assert [c.amount for c in charges] == [Decimal("48.38")], "the gateway charged exactly once"
        paid = Payment.objects.get(order=order)
        assert (paid.status, paid.captured_amount) == ("captured", Decimal("48.38"))
        assert PaymentTransaction.objects.filter(payment=paid, kind="capture", outcome="succeeded").count() == 1
        assert reached_ready(order)


def test_concurrent_refunds_never_exceed_what_was_captured(api):
    order = validated_order(api, "tok_visa_ok_refunds", kind="capture")
    actor = Actor.system("test")
    results = run_together(
        8, lambda i: refund_issue(order=order, amount=Decimal("10.00"), reason=f"refund {i}", actor=actor)
    )
    refused = [r for r in results if isinstance(r, Conflict)]
    assert len(refused) == 4, results
    assert {r.code for r in refused} == {"over_refund"}
    paid = Payment.objects.get(order=order)
    assert (paid.refunded_amount, paid.refund_pending_amount) == (Decimal("40.00"), Decimal(0))
    assert SandboxLedgerEntry.objects.filter(kind="refund", approved=True).count() == 4
