"""Shared helpers of the payment, fraud and tax tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils import timezone

from oms.models import OutboxEvent
from orders.models import Order
from orders.payments.models import SandboxLedgerEntry
from tests import payloads

_counter = {"n": 0}


def payment(token: str = "tok_visa_ok", kind: str = "authorize", gateway: str = "sandbox", amount: str = "48.38"):
    return {"transaction_type": kind, "gateway": gateway, "token": token, "amount": amount}


def body(**changes: Any) -> dict[str, Any]:
    """A valid order body with a fresh external id."""
    _counter["n"] += 1
    changes.setdefault("external_id", f"PAY-{_counter['n']}")
    # Placed now: the authorization the channel obtained at checkout is still fresh.
    changes.setdefault("placed_at", timezone.now().isoformat())
    data = payloads.order(**changes)
    if data.get("payment") is None:
        data.pop("payment", None)
    return data


def place(api: Any, hooks: Any, **changes: Any) -> tuple[Order, dict[str, Any]]:
    """POST an order and run what its commit schedules (the payment job); return the order
    as it is now and the 201 response body (as the channel saw it)."""
    with hooks(execute=True):
        response = api.client.post("/api/v1/orders/", body(**changes), format="json")
    assert response.status_code == 201, response.json()
    return Order.objects.get(number=response.json()["number"]), response.json()


def ledger(kind: str, token: str | None = None) -> list[SandboxLedgerEntry]:
    rows = SandboxLedgerEntry.objects.filter(kind=kind, approved=True)
    return list(rows.filter(token=token) if token else rows)


def events(order: Order) -> list[str]:
    return list(
        OutboxEvent.objects.filter(subject_type="orders.order", subject_id=str(order.pk))
        .order_by("created_at")
        .values_list("type", flat=True)
    )


def money(value: str) -> Decimal:
    return Decimal(value)


def reached_ready(order: Order) -> bool:
    """The order went validated -> ready (routing may already have moved it further on)."""
    return order.events.filter(name="mark_ready", to_status="ready").exists()
