from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from oms.idempotency import request_fingerprint
from oms.models import IdempotencyRecord
from orders.models import Order
from tests import payloads


def post(api, body, **headers):
    return api.client.post("/api/v1/orders/", body, format="json", **headers)


@pytest.mark.django_db
def test_it_answers_a_repeat_with_the_same_body_with_the_existing_order(api):
    first = post(api, payloads.order())
    again = post(api, payloads.order())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["number"] == first.json()["number"]
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_it_refuses_a_repeat_with_another_body_naming_the_order(api):
    number = post(api, payloads.order()).json()["number"]
    response = post(api, payloads.order(notes="leave at the door"))
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert error["field"] == "external_id"
    assert number in error["message"]


@pytest.mark.django_db
def test_it_keeps_external_ids_apart_per_channel(api):
    assert post(api, payloads.order(channel="web")).status_code == 201
    assert post(api, payloads.order(channel="marketplace")).status_code == 201


@pytest.mark.django_db
def test_it_replays_the_first_response_for_the_same_idempotency_key(api):
    first = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-1")
    replay = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_it_replays_errors_too_and_refuses_the_key_with_another_body(api):
    bad = post(api, payloads.order(total="1.00"), HTTP_IDEMPOTENCY_KEY="k-2")
    assert post(api, payloads.order(total="1.00"), HTTP_IDEMPOTENCY_KEY="k-2").json() == bad.json()
    other = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-2")
    assert other.status_code == 422
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"


def claim(api, key, *, lease_seconds, body=None):
    """A claim as a request in flight (or one whose process died) leaves it: no reply."""
    return IdempotencyRecord.objects.create(
        api_key=api.key,
        key=key,
        method="POST",
        path="/api/v1/orders/",
        request_hash=request_fingerprint(body or payloads.order()),
        locked_until=timezone.now() + timedelta(seconds=lease_seconds),
    )


@pytest.mark.django_db
def test_it_answers_409_while_the_first_request_with_the_key_is_running(api):
    claim(api, "k-3", lease_seconds=60)
    response = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "idempotency_key_in_use"


@pytest.mark.django_db
def test_a_retry_after_the_lease_lapsed_with_no_reply_takes_the_key_over(api):
    """The process died before answering: its write was rolled back with its reply, so the retry
    runs the request (this key answered 409 for 20 minutes before)."""
    claim(api, "k-dead", lease_seconds=-1)
    retry = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-dead")
    assert retry.status_code == 201, retry.json()
    again = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-dead")
    assert (again.status_code, again.json()) == (201, retry.json())
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_the_reply_is_stored_in_the_transaction_of_the_write_so_a_crash_leaves_neither(api, monkeypatch):
    """A crash between the order's write and its reply: neither is kept; the retry creates it once."""
    from oms.api import base

    def crash(**kwargs):
        raise RuntimeError("the process died here")

    monkeypatch.setattr(base, "idempotency_reply_store", crash)
    with pytest.raises(RuntimeError):
        post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-crash")
    assert not Order.objects.exists()
    monkeypatch.undo()
    retry = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-crash")
    assert retry.status_code == 201
    assert Order.objects.count() == 1
    assert IdempotencyRecord.objects.get(key="k-crash").reply()[0] == 201


@pytest.mark.django_db
def test_a_first_request_that_lost_its_claim_to_a_retry_writes_nothing(api):
    """Slower than its lease, the first request finds its claim taken over: it rolls back."""
    from oms.api import base

    real = base.idempotency_claim

    def slow_then_overtaken(**kwargs):
        record = real(**kwargs)
        IdempotencyRecord.objects.filter(pk=record.pk).update(locked_until=timezone.now() + timedelta(minutes=1))
        return record

    base.idempotency_claim = slow_then_overtaken
    try:
        response = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-slow")
    finally:
        base.idempotency_claim = real
    assert response.status_code == 409
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_it_scopes_idempotency_keys_to_the_merchant_key(api, other_api):
    assert post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert post(other_api, payloads.order(), HTTP_IDEMPOTENCY_KEY="same").status_code == 201


def _concurrently(count, call):
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(i):
        try:
            barrier.wait()
            results[i] = call(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_creates_exactly_one_order_from_20_concurrent_identical_posts(api):
    def call(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
        response = client.post("/api/v1/orders/", payloads.order(), format="json")
        return response.status_code, response.json()["number"]

    results = _concurrently(20, call)
    assert sorted(code for code, _ in results) == [200] * 19 + [201]
    assert len({number for _, number in results}) == 1
    assert Order.objects.count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_never_hands_out_an_order_number_twice_under_concurrency(api):
    def call(i):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api.raw_key}")
        return client.post("/api/v1/orders/", payloads.order(external_id=f"C-{i}"), format="json").json()["number"]

    numbers = _concurrently(16, call)
    assert len(set(numbers)) == 16
    assert Order.objects.count() == 16


@pytest.mark.django_db
def test_an_idempotency_key_costs_the_capture_two_statements(api, settings):
    """The claim (one INSERT) and the reply (one UPDATE, in the capture's transaction)."""
    from django.test.utils import CaptureQueriesContext

    # The caches' once-a-second version check is clock-dependent: keep it out of both counts.
    settings.OMS_CACHE_CHECK_SECONDS = 3600

    def statements(ctx: CaptureQueriesContext) -> int:
        """Leaving out the savepoints that exist only because the test wraps a transaction."""
        return sum(1 for q in ctx.captured_queries if "SAVEPOINT" not in q["sql"])

    post(api, payloads.order(external_id="warm-up"))
    with CaptureQueriesContext(connection) as plain:
        assert post(api, payloads.order(external_id="K-1")).status_code == 201
    with CaptureQueriesContext(connection) as keyed:
        assert post(api, payloads.order(external_id="K-2"), HTTP_IDEMPOTENCY_KEY="k-cost").status_code == 201
    assert statements(keyed) == statements(plain) + 2
