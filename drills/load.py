"""Order traffic for drills: concurrent POSTs to a running OMS, counted by answer."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SKUS = ["TSHIRT-RED-M", "TSHIRT-BLUE-M", "TSHIRT-BLACK-L", "TSHIRT-WHITE-S"]


def order_body(external_id: str, *, sku: str = "TSHIRT-RED-M", token: str = "tok_visa_ok") -> dict[str, Any]:
    """One unit of `sku`, authorized by the channel: the OMS captures it (the sandbox gateway)."""
    address = {
        "first_name": "Ana", "last_name": "Silva", "line1": "1 Market St", "city": "San Francisco",
        "region": "CA", "postal_code": "94105", "country": "US",
    }  # fmt: skip
    return {
        "channel": "web",
        "external_id": external_id,
        "placed_at": datetime.now(UTC).isoformat(),
        "currency": "USD",
        "customer": {"email": "ana@example.com", "first_name": "Ana", "last_name": "Silva"},
        "shipping_address": address,
        "billing_address": address,
        "lines": [{"sku": sku, "quantity": 1, "unit_price": "19.99", "discount": "0.00", "tax": "1.70"}],
        "shipping": {"service_level": "standard", "price": "5.00", "tax": "0.00"},
        "fulfillment": {"type": "ship"},
        "payment": {"transaction_type": "authorize", "gateway": "sandbox", "token": token, "amount": "26.69"},
        "total": "26.69",
    }


def post_order(
    base_url: str, body: dict[str, Any], *, key: str, timeout: float = 60, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """POST one order; return (status, parsed body), or (0, error text) when no answer came."""
    request = urllib.request.Request(
        f"{base_url}/api/v1/orders/",
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except OSError as exc:  # reset, refused, timed out: no answer at all
        return 0, f"{type(exc).__name__}: {exc}"


@dataclass
class Burst:
    answers: Counter[int] = field(default_factory=Counter)
    numbers: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def burst(base_url: str, count: int, *, prefix: str, key: str) -> Burst:
    """Send `count` order POSTs at the same moment (a barrier); count the answers."""
    barrier = threading.Barrier(count)
    result = Burst()
    lock = threading.Lock()

    def one(i: int) -> None:
        barrier.wait()
        status, body = post_order(base_url, order_body(f"{prefix}-{i}", sku=SKUS[i % len(SKUS)]), key=key)
        with lock:
            result.answers[status] += 1
            if status in (200, 201):
                result.numbers.append(body["number"])
            else:
                result.failures.append(f"{status}: {str(body)[:200]}")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result
