from __future__ import annotations

import pytest


@pytest.mark.django_db
def test_the_openapi_schema_describes_every_endpoint_and_the_error_body(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = schema["paths"]
    for path in (
        "/api/v1/orders/",
        "/api/v1/orders/{number}/",
        "/api/v1/orders/{number}/cancel/",
        "/api/v1/products/bulk/",
    ):
        assert path in paths
    assert "ErrorBody" in schema["components"]["schemas"]
    assert client.get("/api/docs/").status_code == 200


@pytest.mark.django_db
def test_an_oversized_body_answers_413_in_the_error_body(api, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = api.client.post("/api/v1/orders/", {"notes": "x" * 5000}, format="json")
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] == "too_large"
