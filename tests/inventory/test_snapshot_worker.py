"""A snapshot applied by a real Celery worker (another process, on Redis), batch by batch."""

from __future__ import annotations

import time

import pytest

from inventory.models import Movement, Product, StockLevel
from inventory.selectors import stock_audit
from tests.factories import NodeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_it_has_a_real_worker_apply_a_large_snapshot(api, celery_worker_process):
    node = NodeFactory(code="DC-EAST", merchants=[api.merchant])
    Product.objects.bulk_create([Product(merchant=api.merchant, sku=f"W-{i:05d}", name="w") for i in range(12_000)])
    counts = [{"sku": f"W-{i:05d}", "on_hand": 1 + i % 5} for i in range(12_000)]
    counts.append({"sku": "NOPE", "on_hand": 1})
    body = {"id": "SNAP-W", "node": "DC-EAST", "as_of": "2026-11-20T06:00:00Z", "counts": counts}
    response = api.client.post("/api/v1/inventory/snapshots/", body, format="json")
    assert response.status_code == 202, response.json()
    seen_progress = set()
    deadline = time.monotonic() + 120  # a stuck worker, not a timing
    while True:
        status = api.client.get("/api/v1/inventory/snapshots/SNAP-W/").json()
        seen_progress.add(status["rows_processed"])
        if status["status"] == "completed":
            break
        if time.monotonic() > deadline:
            pytest.fail(f"the worker did not finish the snapshot: {status}")
        time.sleep(0.1)
    assert (status["rows_applied"], status["rows_rejected"]) == (12_000, 1)
    assert status["rejections"][0]["code"] == "unknown_sku"
    assert StockLevel.objects.filter(node=node).count() == 12_000
    assert Movement.objects.filter(kind="count_correction").count() == 12_000
    assert stock_audit() == []
