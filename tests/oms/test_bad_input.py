"""The reproducers of issue 11: inputs that once gave a 500 or were wrongly accepted. Each answers
the one JSON error body now, naming the field and the problem."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from fulfillment.signing import sign
from oms.models import IdempotencyRecord
from orders.models import Order
from tests import payloads
from tests.factories import NodeFactory
from tests.fulfillment.helpers import carriers

pytestmark = pytest.mark.django_db

SECRET = "whsec_demo_metropost"
EASYPOST = "/api/v1/tracking-events/easypost/?carrier=metropost"


def raw_post(client, path, body: bytes, **headers):
    return client.generic("POST", path, body, content_type="application/json", **headers)


def error_of(response):
    [error] = response.json()["errors"]
    return error["field"], error["code"]


# 1, 2: signatures with bytes that are not ASCII


def test_a_tracking_event_signature_with_a_non_ascii_byte_is_refused_with_401(client):
    carriers()
    header = f"t={int(time.time())},v1=\xe9"
    response = raw_post(client, "/api/v1/tracking-events/", b'{"carrier":"metropost"}', HTTP_X_OMS_SIGNATURE=header)
    assert response.status_code == 401
    assert SECRET not in response.content.decode()


@pytest.mark.parametrize("header", ["hmac-sha256-hex=\xe9", "hmac-sha256-hex=", "\xe9", "hmac-sha256-hex=zz"])
def test_an_easypost_signature_with_a_non_ascii_byte_is_refused_with_401(client, header):
    carriers()
    response = raw_post(client, EASYPOST, b'{"result":{}}', HTTP_X_HMAC_SIGNATURE=header)
    assert response.status_code == 401


@pytest.mark.parametrize("header", ["t=\xe9,v1=ab", "t=1,t=2", "v1=ab", ",,,", "t=99999999999999999999999,v1=a"])
def test_malformed_oms_signature_headers_are_refused_with_401(client, header):
    carriers()
    response = raw_post(client, "/api/v1/tracking-events/", b'{"carrier":"metropost"}', HTTP_X_OMS_SIGNATURE=header)
    assert response.status_code == 401


# 3: NUL characters, with and without an Idempotency-Key


@pytest.mark.parametrize("path", ["/api/v1/orders/", "/api/v1/products/", "/api/v1/webhooks/", "refunds"])
def test_a_nul_character_is_refused_with_400_with_an_idempotency_key_and_the_refusal_replays(api, path):
    if path == "refunds":
        number = api.client.post("/api/v1/orders/", payloads.order(), format="json").json()["number"]
        path = f"/api/v1/orders/{number}/refunds/"
    body = b'{"a\\u0000b": 1, "notes": "x\\u0000y"}'
    first = raw_post(api.client, path, body, HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == 400, first.content
    assert {e["code"] for e in first.json()["errors"]} == {"nul_character"}
    again = raw_post(api.client, path, body, HTTP_IDEMPOTENCY_KEY="k1")
    assert (again.status_code, again.json()) == (400, first.json())
    assert raw_post(api.client, path, body).status_code == 400


def test_a_stored_reply_survives_a_nul_character_in_its_body(api):
    """A reply carrying NUL (e.g. echoing a value) is stored as JSON text, which PostgreSQL accepts."""
    from oms.idempotency import idempotency_claim, idempotency_reply_store

    record = idempotency_claim(api_key=api.key, key="nul", method="POST", path="/x/", fingerprint="f")
    idempotency_reply_store(record=record, status=400, body={"errors": [{"message": "a\x00b"}]})
    assert IdempotencyRecord.objects.get(key="nul").reply() == (400, {"errors": [{"message": "a\x00b"}]})


# 4: deep nesting, long strings, huge numbers


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        (b"[" * 100_000 + b"]" * 100_000, None, "too_deep"),
        (b'{"notes": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", None, "too_deep"),
        (b'{"x": ' + b'{"a":' * 5_000 + b"1" + b"}" * 5_000 + b"}", None, "too_deep"),
        (b'{"notes": ' + b"[" * 40 + b"]" * 40 + b"}", "notes" + "[0]" * 31, "too_deep"),
        (b'{"notes": "' + b"x" * 200_000 + b'"}', "notes", "too_long"),
        (b'{"total": 1' + b"0" * 5000 + b"}", "total", "number_too_large"),
        (b'{"total": 1e999}', "total", "number_too_large"),
        (b'{"total": NaN}', None, "parse_error"),
    ],
)
def test_oversized_structures_are_refused_with_400_naming_the_problem(api, body, field, code):
    response = raw_post(api.client, "/api/v1/orders/", body, HTTP_IDEMPOTENCY_KEY="deep")
    assert response.status_code == 400, response.content[:300]
    assert error_of(response) == (field, code)


def test_a_deeply_nested_unsigned_tracking_event_is_refused_without_a_500(client):
    carriers()
    response = raw_post(client, "/api/v1/tracking-events/", b"[" * 100_000 + b"]" * 100_000)
    assert response.status_code in (400, 401)


# 5 and the smaller ones: dates and currencies out of range


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"placed_at": "9999-12-31T23:59:59Z"}, "placed_at"),
        ({"placed_at": "0001-01-01T00:00:00Z"}, "placed_at"),
        ({"promise_date": "0001-01-01"}, "promise_date"),
        ({"promise_date": "9999-12-31"}, "promise_date"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "XAU"}, "currency"),
    ],
)
def test_orders_with_dates_or_currencies_out_of_range_are_refused_with_400(api, changes, field):
    response = api.client.post("/api/v1/orders/", payloads.order(**changes), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["errors"][0]["field"] == field
    assert not Order.objects.exists()


def test_a_tracking_event_dated_9999_is_refused(api):
    carriers()
    event = {"event_id": "e-9999", "carrier": "metropost", "tracking_number": "MP1", "status": "delivered",
             "occurred_at": "9999-12-31T00:00:00Z"}  # fmt: skip
    body = json.dumps(event).encode()
    response = raw_post(api.client, "/api/v1/tracking-events/", body, HTTP_X_OMS_SIGNATURE=sign(SECRET, body))
    assert response.status_code == 400
    assert error_of(response)[0] == "occurred_at"


# 6: signed EasyPost bodies of an unexpected shape


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"result": "x"}, "result"),
        ({"result": {"tracking_code": "MP1", "tracking_details": 5}}, "result.tracking_details"),
        ({"result": {"tracking_code": "MP1", "tracking_details": ["x"]}}, "result.tracking_details[0]"),
        (
            {
                "result": {
                    "tracking_code": "MP1",
                    "tracking_details": [{"status": "x", "datetime": "2026-12-01T10:00:00Z", "tracking_location": 3}],
                }
            },
            "result.tracking_details[0].tracking_location",
        ),
        ([1, 2], None),
    ],
)
def test_signed_easypost_bodies_of_an_unexpected_shape_are_refused_with_400(client, event, field):
    carriers()
    raw = json.dumps(event).encode()
    signature = "hmac-sha256-hex=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
    response = raw_post(client, EASYPOST, raw, HTTP_X_HMAC_SIGNATURE=signature)
    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field


# Node codes and caching


def test_another_merchants_node_code_is_refused_like_a_code_of_ones_own(api, other_api):
    NodeFactory(code="RIVAL-SECRET-DC", owner=other_api.merchant, merchants=[other_api.merchant])
    node = {"code": "RIVAL-SECRET-DC", "name": "Mine", "type": "store", "postal_code": "94105", "region": "CA"}
    theirs = api.client.post("/api/v1/nodes/", node, format="json")
    mine = api.client.post("/api/v1/nodes/", {**node, "code": "ACME-STORE-1"}, format="json")
    assert theirs.status_code == mine.status_code == 409
    assert (
        theirs.json()["errors"][0]["message"].replace("RIVAL-SECRET-DC", "ACME-STORE-1")
        == (mine.json()["errors"][0]["message"])
    )
    assert "in use" not in theirs.json()["errors"][0]["message"]


def test_responses_carrying_customer_data_are_not_cached(api):
    created = api.client.post("/api/v1/orders/", payloads.order(), format="json")
    shown = api.client.get(f"/api/v1/orders/{created.json()['number']}/")
    for response in (created, shown, api.client.get("/api/v1/orders/")):
        assert "no-store" in response.headers["Cache-Control"]


def test_a_channel_webhook_signature_with_a_non_ascii_byte_does_not_match():
    from orders.channels.connectors.base import decode_json, signature_matches

    assert signature_matches("secret", b"{}", "\xe9") is False
    with pytest.raises(ValueError, match="nested"):
        decode_json(b"[" * 100_000 + b"]" * 100_000)
