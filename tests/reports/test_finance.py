"""The finance export reconciles to the payment transactions, to the cent.

Seeded through the real payment services and the sandbox gateway: full and partial captures,
a refund, a void and a declined capture, over two days and two currencies.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.db.models import Sum

from oms.actors import Actor
from orders.models import Order, Payment, PaymentTransaction
from orders.payments.models import Refund, SandboxLedgerEntry
from orders.payments.services import payment_capture, payment_void, refund_issue
from reports.erp import erp_day_export, erp_day_jsonl
from reports.finance import finance_day_csv, finance_day_totals, finance_day_transactions
from tests.conftest import MerchantApi
from tests.factories import OrderFactory, OrderLineFactory, PaymentFactory

pytestmark = pytest.mark.django_db
DAY1, DAY2 = dt.date(2026, 11, 10), dt.date(2026, 11, 11)
FINANCE = Actor.system("finance-test")
D = Decimal


def order(api: MerchantApi, *, currency: str, unit: str, qty: int, line_tax: str, shipping: str,
          shipping_tax: str, token: str = "tok_visa_ok") -> tuple[Order, Payment]:  # fmt: skip
    total = D(unit) * qty + D(line_tax) + D(shipping) + D(shipping_tax)
    o = OrderFactory(merchant=api.merchant, channel=api.web, currency=currency, total=total,
                     shipping_price=D(shipping), shipping_tax=D(shipping_tax), status="released")  # fmt: skip
    OrderLineFactory(order=o, product=api.red, unit_price=D(unit), quantity=qty, tax=D(line_tax))
    payment = PaymentFactory(order=o, token=token, amount=total, currency=currency, status="authorized",
                             authorized_amount=total)  # fmt: skip
    return o, payment


def on_day(txns: list[PaymentTransaction | None], day: dt.date, hour: int) -> None:
    when = dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)
    PaymentTransaction.objects.filter(pk__in=[t.pk for t in txns if t]).update(completed_at=when)


@pytest.fixture
def seeded(api: MerchantApi) -> dict[str, object]:
    # Day 1, USD. U1: 90 + 7.20 tax + 10 shipping + 0.80 shipping tax = 108, captured in full.
    u1, pay1 = order(api, currency="USD", unit="45.00", qty=2, line_tax="7.20", shipping="10.00", shipping_tax="0.80")
    full = payment_capture(payment=pay1, actor=FINANCE)
    # U2: 84 + 6.00 + 9.17 + 0.83 = 100; 33.33 captured, the rest voided.
    u2, pay2 = order(api, currency="USD", unit="42.00", qty=2, line_tax="6.00", shipping="9.17", shipping_tax="0.83")
    partial = payment_capture(payment=pay2, actor=FINANCE, amount=D("33.33"))
    void = payment_void(payment=pay2, actor=FINANCE)
    # U3: the gateway declines the capture.
    _, pay3 = order(api, currency="USD", unit="20.00", qty=1, line_tax="0", shipping="0", shipping_tax="0",
                    token="tok_decline")  # fmt: skip
    declined = payment_capture(payment=pay3, actor=FINANCE)
    on_day([full, partial, void, declined], DAY1, 15)
    # Day 2: half of U1 refunded (USD); E1 in EUR: 50 + 5 + 4.50 + 0.50 = 60, captured as 20 then 40.
    refund = refund_issue(order=u1, amount=D("54.00"), reason="goodwill", actor=FINANCE)
    _, pay4 = order(api, currency="EUR", unit="50.00", qty=1, line_tax="5.00", shipping="4.50", shipping_tax="0.50")
    first = payment_capture(payment=pay4, actor=FINANCE, amount=D("20.00"))
    second = payment_capture(payment=pay4, actor=FINANCE, amount=D("40.00"))
    on_day([*refund.transactions.all(), first, second], DAY2, 9)
    return {"declined": declined, "void": void, "refund": refund}


def test_the_outcomes_seeded_are_the_ones_the_test_means(seeded: dict[str, object]) -> None:
    assert seeded["declined"].outcome == "declined"  # type: ignore[attr-defined]
    assert seeded["void"].outcome == "succeeded"  # type: ignore[attr-defined]
    assert Refund.objects.get().status == "succeeded"


def test_each_day_reconciles_to_the_cent(api: MerchantApi, seeded: dict[str, object]) -> None:
    (usd1,) = finance_day_totals(day=DAY1)
    assert (usd1.currency, usd1.captures, usd1.refunds, usd1.net) == ("USD", D("141.33"), D("0.00"), D("141.33"))
    # Tax: 8.00 of the full capture; 33.33 × 6.83 / 100 = 2.276… -> 2.28 of the partial one.
    assert usd1.capture_tax == D("10.28")
    assert usd1.shipping == D("13.06")  # 10.00 + 33.33 × 9.17 / 100 = 3.056… -> 3.06
    assert usd1.transactions == 2  # the void and the declined capture move no money

    eur2, usd2 = finance_day_totals(day=DAY2)
    refund = seeded["refund"]
    assert (usd2.refunds, usd2.refund_tax, usd2.net) == (D("54.00"), refund.tax_amount, D("-54.00"))  # type: ignore[attr-defined]
    assert refund.tax_amount == D("4.00")  # type: ignore[attr-defined]  # 54 × 8 / 108
    # 20 × 5.50 / 60 = 1.833 -> 1.83 and 40 × 5.50 / 60 = 3.667 -> 3.67: the parts add up to the order's 5.50.
    assert (eur2.currency, eur2.captures, eur2.capture_tax, eur2.shipping) == ("EUR", D("60.00"), D("5.50"), D("4.50"))

    # Every figure is the sum of the listed transactions, and those are exactly the succeeded
    # captures and refunds completed that day.
    for day in (DAY1, DAY2):
        rows = finance_day_transactions(day=day)
        start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
        money = PaymentTransaction.objects.filter(
            outcome="succeeded", kind__in=["capture", "refund"], completed_at__gte=start,
            completed_at__lt=start + dt.timedelta(days=1),
        )  # fmt: skip
        assert {r["transaction_id"] for r in rows} == set(money.values_list("pk", flat=True))
        for totals in finance_day_totals(day=day):
            mine = [r for r in rows if r["currency"] == totals.currency]
            assert totals.captures == sum((r["amount"] for r in mine if r["kind"] == "capture"), D(0))
            assert totals.refunds == sum((r["amount"] for r in mine if r["kind"] == "refund"), D(0))
            assert totals.capture_tax - totals.refund_tax == totals.tax
            assert totals.net == totals.captures - totals.refunds


def test_the_file_ties_to_the_gateways_own_books(seeded: dict[str, object]) -> None:
    """What an accountant does with the payout report: match every line by gateway reference."""
    rows = finance_day_transactions(day=DAY1) + finance_day_transactions(day=DAY2)
    ledger = SandboxLedgerEntry.objects.filter(approved=True, kind__in=["capture", "refund"])
    assert {(r["gateway_reference"], r["amount"]) for r in rows} == {
        (e.reference, e.amount.quantize(D("0.01"))) for e in ledger
    }
    captured = Payment.objects.aggregate(c=Sum("captured_amount"), r=Sum("refunded_amount"))
    assert sum(r["amount"] for r in rows if r["kind"] == "capture") == captured["c"]
    assert sum(r["amount"] for r in rows if r["kind"] == "refund") == captured["r"]


def test_the_csv_lists_totals_then_transactions(seeded: dict[str, object]) -> None:
    text = finance_day_csv(day=DAY1)
    head, _, body = text.partition("\r\n\r\n")
    assert head.splitlines()[1].startswith("2026-11-10,acme,USD,141.33,10.28,13.06,0.00,0.00,10.28,141.33,2")
    assert len(body.strip().splitlines()) == 1 + 2


def test_the_api_gives_the_merchants_day_and_refuses_a_bad_date(
    api: MerchantApi, other_api: MerchantApi, seeded: dict[str, object]
) -> None:
    body = api.client.get("/api/v1/finance/daily/", {"date": "2026-11-11"}).json()
    assert [(t["currency"], t["net"]) for t in body["totals"]] == [("EUR", "60.00"), ("USD", "-54.00")]
    assert all(t["gateway_reference"] for t in body["transactions"])
    assert other_api.client.get("/api/v1/finance/daily/", {"date": "2026-11-11"}).json()["totals"] == []
    bad = api.client.get("/api/v1/finance/daily/", {"date": "11/11/2026"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "date"


def test_the_erp_export_writes_each_document_once_and_serves_it_by_cursor(
    api: MerchantApi, seeded: dict[str, object]
) -> None:
    Order.objects.update(created_at=dt.datetime(2026, 11, 10, 8, tzinfo=dt.UTC))
    Refund.objects.update(completed_at=dt.datetime(2026, 11, 11, 9, tzinfo=dt.UTC))
    assert erp_day_export(day=DAY1) == 4  # four orders
    assert erp_day_export(day=DAY2) == 1  # one credit note
    assert erp_day_export(day=DAY1) == 0  # re-running a day adds nothing
    lines = [json.loads(line) for line in erp_day_jsonl(day=DAY2).splitlines()]
    assert lines == [{
        "type": "credit_note", "schema": 1, "number": f"CN-{seeded['refund'].pk}",  # type: ignore[attr-defined]
        "order": Order.objects.get(total=D("108.00")).number, "merchant": "acme", "currency": "USD",
        "completed_at": "2026-11-11T09:00:00+00:00", "amount": "54.00", "tax": "4.00", "reason": "goodwill",
        "lines": [],
    }]  # fmt: skip
    first = api.client.get("/api/v1/erp/records/", {"limit": 3}).json()
    assert [r["kind"] for r in first["records"]] == ["order"] * 3
    assert first["more"]
    rest = api.client.get("/api/v1/erp/records/", {"after": first["next_after"]}).json()
    assert [r["kind"] for r in rest["records"]] == ["order", "credit_note"]
    assert not rest["more"]
    assert api.client.get("/api/v1/erp/records/", {"after": "x"}).status_code == 400
