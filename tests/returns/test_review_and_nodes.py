"""What a CSR and a node do with returns: manual review, rejection, receiving at one's own
node only, wrong and short-shipped units, and the KPI inputs they leave."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from fulfillment.execution.jobs import orders_complete_due
from fulfillment.execution.node_keys import node_key_issue
from oms.models import OutboxEvent
from returns.models import Return
from returns.selectors import return_kpis
from tests.returns.helpers import delivered_order, request, setup_returns, units

pytestmark = pytest.mark.django_db


def node_client(node: Any) -> APIClient:
    _, raw = node_key_issue(node=node)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def test_a_declared_damage_waits_for_a_csr_who_authorizes_or_rejects(api: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")])
    lines = [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective", "condition": "worn"}]
    first = request(api, order, lines).json()
    assert first["status"] == "requested"
    assert first["lines"][0]["units"][0]["acceptance"] == "manual_review"
    assert "a CSR decides" in first["lines"][0]["units"][0]["acceptance_reason"]
    authorized = api.client.post(f"/api/v1/returns/{first['id']}/authorize/", {}, format="json").json()
    assert authorized["status"] == "authorized"
    assert authorized["label_url"]
    assert authorized["lines"][0]["units"][0]["acceptance"] == "accepted"

    second = request(api, order, lines).json()
    rejected = api.client.post(f"/api/v1/returns/{second['id']}/reject/", {"reason": "Worn items are not taken back"},
                               format="json")  # fmt: skip
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["decision_reason"] == "Worn items are not taken back"
    assert OutboxEvent.objects.filter(
        type="return.rejected", payload__return__reason="Worn items are not taken back"
    ).exists()
    again = api.client.post(f"/api/v1/returns/{second['id']}/authorize/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["errors"][0]["code"] == "invalid_state"


def test_a_node_key_receives_and_inspects_returns_at_its_own_node_only(api: Any) -> None:
    centre = setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}]).json()
    stranger = node_client(api.store)
    assert stranger.get(f"/api/v1/returns/{body['id']}/").status_code == 404
    assert stranger.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": ["TSHIRT-RED-M"]},
                         format="json").status_code == 404  # fmt: skip

    mine = node_client(centre)
    assert [r["number"] for r in mine.get("/api/v1/returns/").json()["results"]] == [body["number"]]
    assert mine.post(f"/api/v1/returns/{body['id']}/authorize/", {}, format="json").status_code == 404
    received = mine.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": ["TSHIRT-RED-M"]}, format="json")
    assert received.json()["status"] == "received"
    grades = {"grades": [{"unit": pk, "grade": "resellable"} for pk in units(body)]}
    assert mine.post(f"/api/v1/returns/{body['id']}/inspect/", grades, format="json").json()["status"] == "completed"
    event = Return.objects.get(pk=body["id"]).events.get(name="receive")
    assert f"({centre.code})" in event.actor_label


def test_receipt_records_wrong_and_missing_units_and_refuses_unknown_barcodes(api: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 2, "20.00", "0.00", "0.00")])
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 2, "reason": "wrong_item"}]).json()
    url = f"/api/v1/returns/{body['id']}/receive/"
    unknown = api.client.post(url, {"scans": ["0012345678905", "999999"]}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["field"] == "scans[1]"
    assert Return.objects.get(pk=body["id"]).status == "authorized"  # nothing changed

    # One red came back; the customer sent a blue T-shirt instead of the second.
    received = api.client.post(url, {"scans": ["0012345678905", "0012345678912"]}, format="json").json()
    outcome = sorted((u["receipt"], u["scanned_sku"]) for u in received["lines"][0]["units"])
    assert outcome == [("received", ""), ("wrong_item", "TSHIRT-BLUE-M")]
    assert order.lines.get().qty_returned == 1

    kpis = return_kpis(merchant=api.merchant)
    assert kpis["units_by_reason"] == {"wrong_item": 2}
    assert kpis["wrong_item_units"] == 2  # the reason says we sent the wrong item
    assert kpis["receipt"] == {"received": 1, "wrong_item": 1}


def test_an_order_with_an_open_return_is_not_completed_until_the_return_is(api: Any) -> None:
    setup_returns(api)
    order = delivered_order(api, [(api.red, 1, "20.00", "0.00", "0.00")])
    body = request(api, order, [{"sku": "TSHIRT-RED-M", "quantity": 1, "reason": "defective"}]).json()
    later = timezone.now() + timedelta(days=40)
    assert orders_complete_due(now=later) == 0
    api.client.post(f"/api/v1/returns/{body['id']}/receive/", {"scans": ["TSHIRT-RED-M"]}, format="json")
    grades = {"grades": [{"unit": pk, "grade": "resellable"} for pk in units(body)]}
    assert api.client.post(f"/api/v1/returns/{body['id']}/inspect/", grades, format="json").json()["status"] == (
        "completed"
    )
    assert orders_complete_due(now=later) == 1
