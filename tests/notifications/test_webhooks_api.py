"""The webhook subscription API: /api/v1/webhooks/."""

from __future__ import annotations

import pytest

from notifications.models import WebhookSubscription
from tests.factories import WebhookDeliveryFactory, WebhookSubscriptionFactory

pytestmark = pytest.mark.django_db

URL = "https://hooks.acme.example/oms"


def create(api, **changes):
    return api.client.post("/api/v1/webhooks/", {"url": URL, "event_types": ["order.*"], **changes}, format="json")


def test_it_creates_a_subscription_and_shows_the_secret_once(api):
    response = create(api, description="ERP")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["secret"].startswith("whsec_")
    assert (data["url"], data["event_types"], data["active"], data["description"]) == (URL, ["order.*"], True, "ERP")
    shown = api.client.get(f"/api/v1/webhooks/{data['id']}/").json()
    assert "secret" not in shown
    assert shown["secret_hint"] == "…" + data["secret"][-4:]
    assert [s["id"] for s in api.client.get("/api/v1/webhooks/").json()["results"]] == [data["id"]]


def test_it_refuses_unknown_event_types_bad_urls_and_unknown_fields(api):
    response = create(api, event_types=["order.shiped", "*"])
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "event_types[0]", "code": "unknown_event_type", "message": "Unknown event type 'order.shiped'."}
    ]
    assert create(api, url="ftp://example.com/x").json()["errors"][0]["field"] == "url"
    assert create(api, event_types=[]).status_code == 400
    assert create(api, colour="red").json()["errors"][0]["code"] == "unknown_field"
    assert create(api, secret="short").status_code == 400
    assert WebhookSubscription.objects.count() == 0


def test_it_accepts_star_families_and_the_returns_family(api):
    response = create(api, event_types=["*", "shipment.*", "return.*", "return.authorized", "refund.issued"])
    assert response.status_code == 201, response.json()


def test_it_updates_rotates_the_secret_and_deletes(api):
    data = create(api).json()
    url = f"/api/v1/webhooks/{data['id']}/"
    response = api.client.patch(url, {"event_types": ["*"], "active": False}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["event_types"], response.json()["active"]) == (["*"], False)
    assert "secret" not in response.json()
    rotated = api.client.patch(url, {"rotate_secret": True, "active": True}, format="json").json()
    assert rotated["secret"] != data["secret"]
    assert rotated["active"] is True
    assert api.client.delete(url).status_code == 204
    assert api.client.get(url).status_code == 404


def test_it_lists_a_subscriptions_deliveries_with_their_attempts(api):
    sub = WebhookSubscriptionFactory(merchant=api.merchant)
    delivery = WebhookDeliveryFactory(subscription=sub, status="succeeded", attempts=1, last_status_code=200)
    delivery.attempt_log.create(number=1, started_at=delivery.created_at, duration_ms=35, status_code=200)
    data = api.client.get(f"/api/v1/webhooks/{sub.pk}/deliveries/").json()["results"]
    assert [(d["id"], d["status"], d["last_status_code"]) for d in data] == [(str(delivery.pk), "succeeded", 200)]
    assert data[0]["attempt_log"] == [
        {"number": 1, "started_at": data[0]["attempt_log"][0]["started_at"], "duration_ms": 35,
         "status_code": 200, "error": ""}
    ]  # fmt: skip


def test_another_merchants_subscription_answers_404(api, other_api):
    data = create(api).json()
    for method in ("get", "patch", "delete"):
        response = getattr(other_api.client, method)(f"/api/v1/webhooks/{data['id']}/", {}, format="json")
        assert response.status_code == 404, method
    assert other_api.client.get(f"/api/v1/webhooks/{data['id']}/deliveries/").status_code == 404
    assert other_api.client.get("/api/v1/webhooks/").json()["results"] == []


def test_it_lists_the_event_types(api):
    data = api.client.get("/api/v1/webhooks/event-types/").json()
    assert {
        "type": "shipment.shipped",
        "description": "A shipment left a node (carrier, tracking number, items).",
    } in data
