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
