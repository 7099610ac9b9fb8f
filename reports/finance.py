"""The finance export: each day's money per merchant and currency, and the payment
transactions that make it up (docs/FINANCE.md).

A day holds the succeeded capture and refund calls completed on it (UTC). A capture's tax and
shipping parts are the order's declared tax (lines + shipping tax) and shipping charge in
proportion to the amount captured, rounded half-up to the cent per transaction; a refund's tax
part is its refund's tax in proportion to the amount this call refunded. Totals are the sums of
the rounded parts, so the file adds up to the cent. Voids, authorizations and declined or
errored calls move no money and are left out. Gateway fees are not recorded, so not reported.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reports.kpis import sql

TRANSACTIONS = """
    SELECT t.id AS transaction_id, m.code AS merchant, t.currency, t.kind, t.source, p.gateway,
           t.gateway_reference, o.number AS order_number, t.completed_at, t.amount,
           CASE WHEN t.kind = 'capture'
                THEN ROUND(t.amount * ((SELECT COALESCE(SUM(l.tax), 0) FROM orders_orderline l
                                        WHERE l.order_id = o.id) + o.shipping_tax) / o.total, 2)
                ELSE ROUND(t.amount * r.tax_amount / r.amount, 2) END AS tax,
           CASE WHEN t.kind = 'capture' THEN ROUND(t.amount * o.shipping_price / o.total, 2) ELSE 0 END AS shipping
    FROM orders_paymenttransaction t
    JOIN orders_payment p ON p.id = t.payment_id
    JOIN orders_order o ON o.id = p.order_id
    JOIN oms_merchant m ON m.id = o.merchant_id
    LEFT JOIN orders_refund r ON r.id = t.refund_id
    WHERE t.outcome = 'succeeded' AND t.kind IN ('capture', 'refund') AND o.total > 0
          AND t.completed_at >= %(start)s AND t.completed_at < %(end)s {merchant}"""

CENT = Decimal("0.01")


@dataclass(frozen=True)
class DayTotals:
    merchant: str
    currency: str
    captures: Decimal
    capture_tax: Decimal
    shipping: Decimal
    refunds: Decimal
    refund_tax: Decimal
    transactions: int

    @property
    def tax(self) -> Decimal:
        """Tax collected net of tax refunded."""
        return self.capture_tax - self.refund_tax

    @property
    def net(self) -> Decimal:
        return self.captures - self.refunds


def _money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def _query(day: dt.date, merchant_id: int | None) -> tuple[str, dict[str, Any]]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)
    params = {"start": start, "end": start + dt.timedelta(days=1), "merchant_id": merchant_id}
    return TRANSACTIONS.format(merchant="AND o.merchant_id = %(merchant_id)s" if merchant_id else ""), params


def finance_day_transactions(*, day: dt.date, merchant_id: int | None = None) -> list[dict[str, Any]]:
    """The day's money-moving transactions with their tax and shipping parts, in id order."""
    query, params = _query(day, merchant_id)
    out = []
    for row in sql.rows(f"SELECT * FROM ({query}) x ORDER BY transaction_id", params):
        for name in ("amount", "tax", "shipping"):
            row[name] = _money(row[name])
        out.append(row)
    return out


def finance_day_totals(*, day: dt.date, merchant_id: int | None = None) -> list[DayTotals]:
    """The day's totals per merchant and currency, summed in SQL from the same rows."""
    query, params = _query(day, merchant_id)
    totals = f"""
        SELECT merchant, currency,
               SUM(CASE WHEN kind = 'capture' THEN amount ELSE 0 END) AS captures,
               SUM(CASE WHEN kind = 'capture' THEN tax ELSE 0 END) AS capture_tax,
               SUM(shipping) AS shipping,
               SUM(CASE WHEN kind = 'refund' THEN amount ELSE 0 END) AS refunds,
               SUM(CASE WHEN kind = 'refund' THEN tax ELSE 0 END) AS refund_tax,
               COUNT(*) AS transactions
        FROM ({query}) x GROUP BY merchant, currency ORDER BY merchant, currency"""
    return [
        DayTotals(
            merchant=row["merchant"],
            currency=row["currency"],
            captures=_money(row["captures"]),
            capture_tax=_money(row["capture_tax"]),
            shipping=_money(row["shipping"]),
            refunds=_money(row["refunds"]),
            refund_tax=_money(row["refund_tax"]),
            transactions=int(row["transactions"]),
        )  # fmt: skip
        for row in sql.rows(totals, params)
    ]


TOTAL_COLUMNS = ["date", "merchant", "currency", "captures", "capture_tax", "shipping", "refunds", "refund_tax",
                 "tax", "net", "transactions"]  # fmt: skip
TRANSACTION_COLUMNS = ["date", "transaction_id", "merchant", "currency", "kind", "source", "gateway",
                       "gateway_reference", "order_number", "completed_at", "amount", "tax", "shipping"]  # fmt: skip


def totals_record(day: dt.date, t: DayTotals) -> dict[str, str]:
    return {
        "date": day.isoformat(), "merchant": t.merchant, "currency": t.currency, "captures": str(t.captures),
        "capture_tax": str(t.capture_tax), "shipping": str(t.shipping), "refunds": str(t.refunds),
        "refund_tax": str(t.refund_tax), "tax": str(t.tax), "net": str(t.net), "transactions": str(t.transactions),
    }  # fmt: skip


def transaction_record(day: dt.date, row: dict[str, Any]) -> dict[str, str]:
    completed = row["completed_at"]
    return {
        "date": day.isoformat(),
        **{k: str(row[k]) for k in TRANSACTION_COLUMNS if k not in ("date", "completed_at")},
        "completed_at": completed.isoformat() if isinstance(completed, dt.datetime) else str(completed),
    }


def finance_day_csv(*, day: dt.date, merchant_id: int | None = None) -> str:
    """The day's file: the totals, a blank line, then every transaction behind them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TOTAL_COLUMNS)
    writer.writeheader()
    writer.writerows(totals_record(day, t) for t in finance_day_totals(day=day, merchant_id=merchant_id))
    out.write("\r\n")
    writer = csv.DictWriter(out, fieldnames=TRANSACTION_COLUMNS)
    writer.writeheader()
    writer.writerows(transaction_record(day, row) for row in finance_day_transactions(day=day, merchant_id=merchant_id))
    return out.getvalue()
