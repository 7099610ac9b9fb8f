"""The foundation's product endpoints: create, read, patch and the bulk upsert."""

from __future__ import annotations

import pytest

from inventory.models import Product

pytestmark = pytest.mark.django_db


def test_it_creates_reads_and_patches_a_product(api):
    created = api.client.post(
        "/api/v1/products/", {"sku": "MUG-1", "name": "Mug", "barcode": "0012345000017"}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert api.client.get("/api/v1/products/MUG-1/").json()["name"] == "Mug"
    patched = api.client.patch("/api/v1/products/MUG-1/", {"name": "Big mug", "active": False}, format="json")
    assert (patched.json()["name"], patched.json()["active"]) == ("Big mug", False)


def test_a_duplicate_sku_is_a_conflict(api):
    response = api.client.post("/api/v1/products/", {"sku": "TSHIRT-RED-M", "name": "again"}, format="json")
    assert response.status_code == 409
    assert response.json()["errors"][0]["field"] == "sku"


def test_the_sku_cannot_be_patched(api):
    response = api.client.patch("/api/v1/products/TSHIRT-RED-M/", {"sku": "OTHER"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0] == {"field": "sku", "code": "unknown_field", "message": "Unknown field."}


def test_bulk_saves_the_valid_items_and_reports_each(api):
    items = [
        {"sku": "NEW-1", "name": "New one"},
        {"sku": "TSHIRT-RED-M", "name": "Red tee, renamed"},
        {"sku": "BAD", "name": ""},
        {"sku": "NEW-1", "name": "duplicate in the same call"},
        "not an object",
    ]
    response = api.client.post("/api/v1/products/bulk/", {"items": items}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["result"] for r in results] == ["created", "updated", "error", "error", "error"]
    assert results[2]["errors"][0]["field"] == "name"
    assert Product.objects.get(merchant=api.merchant, sku="TSHIRT-RED-M").name == "Red tee, renamed"
    assert Product.objects.filter(merchant=api.merchant, sku="NEW-1").count() == 1


def test_bulk_answers_400_when_nothing_was_saved(api):
    response = api.client.post("/api/v1/products/bulk/", {"items": [{"sku": "X"}]}, format="json")
    assert response.status_code == 400
    assert response.json()["results"][0]["errors"][0]["field"] == "name"


def test_bulk_takes_at_most_1000_items(api):
    items = [{"sku": f"S-{i}", "name": "n"} for i in range(1001)]
    response = api.client.post("/api/v1/products/bulk/", {"items": items}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "items"
