from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory.models import Movement, Snapshot, StockLevel
from inventory.selectors import stock_audit
from inventory.services import ReserveItem, stock_receive, stock_reserve
from inventory.services.sync import snapshot_process_batch
from oms.actors import Actor
from oms.models import OutboxEvent
from oms.refs import Ref
from tests.factories import NodeFactory, ProductFactory, StockLevelFactory

URL = "/api/v1/inventory/snapshots/"
ACTOR = Actor.system("tests")


@pytest.fixture
def dc(api):
    return NodeFactory(code="DC-EAST", merchants=[api.merchant])


def body(id="SNAP-1", as_of="2026-11-20T06:00:00Z", counts=None):
    counts = counts if counts is not None else [{"sku": "TSHIRT-RED-M", "on_hand": 42}]
    return {"id": id, "node": "DC-EAST", "as_of": as_of, "counts": counts}


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST a snapshot and run what is scheduled on commit (the Celery job, eager in tests)."""

    def send(api, data):
        with django_capture_on_commit_callbacks(execute=True):
            return api.client.post(URL, data, format="json")

    return send


def test_it_accepts_a_snapshot_and_applies_it(api, dc, post):
    response = post(api, body())
    assert response.status_code == 202, response.json()
    assert response.json()["status_url"].endswith("/api/v1/inventory/snapshots/SNAP-1/")
    status = api.client.get(response.json()["status_url"]).json()
    assert status["status"] == "completed"
    assert (status["rows_total"], status["rows_applied"], status["rows_rejected"]) == (1, 1, 0)
    stock = StockLevel.objects.get(product=api.red, node=dc)
    assert stock.on_hand == 42
    assert Movement.objects.get(stock=stock).kind == "count_correction"
    assert stock_audit() == []


def test_it_adds_movements_recorded_after_as_of(api, dc, post):
    as_of = timezone.now() - timedelta(hours=1)
    stock_receive(product=api.red, node=dc, quantity=5, actor=ACTOR)  # after as_of: not in the count
    post(api, body(as_of=as_of.isoformat(), counts=[{"sku": "TSHIRT-RED-M", "on_hand": 42}]))
    assert StockLevel.objects.get(product=api.red, node=dc).on_hand == 47


def test_it_is_idempotent_by_id(api, dc, post):
    post(api, body())
    stock_receive(product=api.red, node=dc, quantity=5, actor=ACTOR)
    response = post(api, body())
    assert response.status_code == 202
    assert Snapshot.objects.count() == 1
    assert StockLevel.objects.get(product=api.red, node=dc).on_hand == 47
    assert post(api, body(counts=[{"sku": "TSHIRT-RED-M", "on_hand": 1}])).status_code == 409


def test_it_refuses_a_snapshot_older_than_the_newest(api, dc, post):
    post(api, body("SNAP-2", as_of="2026-11-21T06:00:00Z"))
    response = post(api, body("SNAP-1", as_of="2026-11-20T06:00:00Z"))
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("as_of", "stale_snapshot")
    assert "older than snapshot 'SNAP-2'" in error["message"]


def test_it_reports_bad_rows_and_applies_the_good_ones(api, dc, post):
    counts = [
        {"sku": "TSHIRT-RED-M", "on_hand": 42},
        {"sku": "NOPE", "on_hand": 1},
        {"sku": "TSHIRT-BLUE-M", "on_hand": -3},
        {"sku": "TSHIRT-BLUE-M", "on_hand": "7"},
        {"sku": "TSHIRT-BLUE-M", "on_hand": 2.5},
        "junk",
    ]
    post(api, body(counts=counts))
    status = api.client.get(f"{URL}SNAP-1/").json()
    assert (status["rows_applied"], status["rows_rejected"]) == (1, 5)
    assert [(r["row"], r["code"]) for r in status["rejections"]] == [
        (1, "unknown_sku"),
        (2, "negative"),
        (3, "invalid"),
        (4, "invalid"),
        (5, "invalid"),
    ]
    assert status["rejections"][1]["field"] == "counts[2].on_hand"
    assert StockLevel.objects.get(product=api.red, node=dc).on_hand == 42


def test_it_deallocates_the_newest_and_names_them_when_a_count_is_below_reserved(api, dc, post):
    stock_receive(product=api.red, node=dc, quantity=10, actor=ACTOR)
    for n in (1, 2):
        items = [ReserveItem(api.red.pk, dc.pk, 4)]
        stock_reserve(items=items, reference=Ref("orders.orderline", str(n)), actor=ACTOR)
    post(api, body(as_of=timezone.now().isoformat(), counts=[{"sku": "TSHIRT-RED-M", "on_hand": 5}]))
    stock = StockLevel.objects.get(product=api.red, node=dc)
    assert (stock.on_hand, stock.allocated) == (5, 5)
    event = OutboxEvent.objects.get(type="inventory.shortfall")
    assert event.payload["references"] == [{"type": "orders.orderline", "id": "2", "quantity": 3}]
    assert "snapshot SNAP-1" in event.payload["cause"]
    status = api.client.get(f"{URL}SNAP-1/").json()
    assert status["shortfalls"] == [{"sku": "TSHIRT-RED-M", "node": "DC-EAST", "deallocated": 3}]
    assert stock_audit() == []


def test_it_zeroes_skus_a_full_count_does_not_name(api, dc, post):
    stock_receive(product=api.blue, node=dc, quantity=6, actor=ACTOR)
    post(api, body(as_of=timezone.now().isoformat()))
    assert StockLevel.objects.get(product=api.blue, node=dc).on_hand == 0
    assert api.client.get(f"{URL}SNAP-1/").json()["rows_zeroed"] == 1


def test_it_only_counts_the_merchants_own_skus(api, other_api, dc, post):
    dc.merchants.add(other_api.merchant)
    StockLevelFactory(product=other_api.red, node=dc, on_hand=9)
    post(api, body(as_of=timezone.now().isoformat()))
    assert StockLevel.objects.get(product=other_api.red, node=dc).on_hand == 9


def test_it_applies_in_batches_with_progress(api, dc):
    products = [ProductFactory(merchant=api.merchant, sku=f"BULK-{i}") for i in range(25)]
    counts = [{"sku": p.sku, "on_hand": i} for i, p in enumerate(products)]
    snapshot = Snapshot.objects.create(
        merchant=api.merchant, external_id="S", node=dc, as_of=timezone.now(), counts=counts,
        rows_total=25, request_hash="x", actor_label="t",
    )  # fmt: skip
    assert snapshot_process_batch(snapshot_id=snapshot.pk, batch_size=10) is True
    status = api.client.get(f"{URL}S/").json()
    assert (status["status"], status["rows_processed"], status["progress"]) == ("processing", 10, 0.4)
    while snapshot_process_batch(snapshot_id=snapshot.pk, batch_size=10):
        pass
    status = api.client.get(f"{URL}S/").json()
    assert (status["status"], status["rows_applied"], status["rows_unchanged"]) == ("completed", 24, 1)


def test_it_answers_404_for_another_merchants_snapshot(api, other_api, dc, post):
    post(api, body())
    assert other_api.client.get(f"{URL}SNAP-1/").status_code == 404


def test_it_takes_a_100k_row_snapshot_through_the_api(api, dc, post):
    from inventory.models import Product

    Product.objects.bulk_create([Product(merchant=api.merchant, sku=f"BIG-{i:06d}", name="x") for i in range(2000)])
    counts = [{"sku": f"BIG-{i:06d}", "on_hand": i % 7} for i in range(100_000)]  # 98,000 unknown SKUs
    response = post(api, body("BIG", as_of=timezone.now().isoformat(), counts=counts))
    assert response.status_code == 202, response.content[:500]
    status = api.client.get(f"{URL}BIG/").json()
    assert status["status"] == "completed"
    assert (status["rows_total"], status["rows_processed"]) == (100_000, 100_000)
    assert status["rows_applied"] + status["rows_unchanged"] == 2000
    assert status["rows_rejected"] == 98_000
    assert len(status["rejections"]) == 10_000  # the first ones are kept; the count is exact


def test_it_resumes_a_snapshot_a_lost_task_left_behind(api, dc):
    from inventory.tasks import snapshots_resume

    snapshot = Snapshot.objects.create(
        merchant=api.merchant, external_id="LOST", node=dc, as_of=timezone.now(), request_hash="x", actor_label="t",
        counts=[{"sku": "TSHIRT-RED-M", "on_hand": 3}], rows_total=1,
    )  # fmt: skip
    Snapshot.objects.filter(pk=snapshot.pk).update(updated_at=timezone.now() - timedelta(minutes=5))
    assert snapshots_resume.delay().get() == 1
    assert Snapshot.objects.get(pk=snapshot.pk).status == "completed"
    assert StockLevel.objects.get(product=api.red, node=dc).on_hand == 3


def test_it_applies_snapshots_of_a_node_in_as_of_order(api, dc):
    older = Snapshot.objects.create(
        merchant=api.merchant, external_id="A", node=dc, as_of=timezone.now() - timedelta(hours=2),
        counts=[{"sku": "TSHIRT-RED-M", "on_hand": 1}], rows_total=1, request_hash="x", actor_label="t",
    )  # fmt: skip
    newer = Snapshot.objects.create(
        merchant=api.merchant, external_id="B", node=dc, as_of=timezone.now() - timedelta(hours=1),
        counts=[{"sku": "TSHIRT-RED-M", "on_hand": 2}], rows_total=1, request_hash="x", actor_label="t",
    )  # fmt: skip
    assert snapshot_process_batch(snapshot_id=newer.pk) is False  # waits for the older one
    assert Snapshot.objects.get(pk=newer.pk).status == "pending"
    while snapshot_process_batch(snapshot_id=older.pk):
        pass
    while snapshot_process_batch(snapshot_id=newer.pk):
        pass
    assert StockLevel.objects.get(product=api.red, node=dc).on_hand == 2
