from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

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


@pytest.mark.django_db
def test_it_answers_409_while_the_first_request_with_the_key_is_running(api):
    from oms.idempotency import request_fingerprint

    IdempotencyRecord.objects.create(
        api_key=api.key,
        key="k-3",
        method="POST",
        path="/api/v1/orders/",
        request_hash=request_fingerprint(payloads.order()),
    )
    response = post(api, payloads.order(), HTTP_IDEMPOTENCY_KEY="k-3")
    assert response.status_code == 409
    assert response.json()["errors"][0]["code"] == "idempotency_key_in_use"


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
