"""The answers match the OpenAPI schema where they once did not (issue 11); `make fuzz` checks
every operation against a live server."""

from __future__ import annotations

import pytest

from tests import payloads
from tests.fulfillment.helpers import dc, fos_of, stock, url
from tests.fulfillment.test_shipping import packed

pytestmark = pytest.mark.django_db


def schema(client):
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_payments_and_refunds_lists_are_documented_as_the_bare_lists_they_are(api, client):
    number = api.client.post("/api/v1/orders/", payloads.order(), format="json").json()["number"]
    assert isinstance(api.client.get(f"/api/v1/orders/{number}/payments/").json(), list)
    assert isinstance(api.client.get(f"/api/v1/orders/{number}/refunds/").json(), list)
    paths = schema(client)["paths"]
    for path in ("/api/v1/orders/{number}/payments/", "/api/v1/orders/{number}/refunds/"):
        body = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert body["type"] == "array"


def test_cutoff_time_is_documented_as_the_hh_mm_it_is(api, client):
    node = schema(client)["components"]["schemas"]["NodeOut"]["properties"]["cutoff_time"]
    assert node.get("pattern") == r"^([01]\d|2[0-3]):[0-5]\d$"
    assert "format" not in node


def test_a_bad_page_size_is_refused_and_documented(api, client):
    response = api.client.get("/api/v1/orders/?page_size=null")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "page_size"
    assert api.client.get("/api/v1/orders/?page=999").status_code == 404
    responses = schema(client)["paths"]["/api/v1/orders/"]["get"]["responses"]
    assert {"400", "404"} <= set(responses)


def test_batch_endpoints_document_the_error_body_for_a_refused_envelope(api, client):
    response = api.client.post("/api/v1/products/bulk/", {}, format="json")
    assert (response.status_code, response.json()["errors"][0]["field"]) == (400, "items")
    components = schema(client)["components"]["schemas"]
    for name in ("BulkError", "AdjustmentsError"):
        refs = {option["$ref"].rsplit("/", 1)[-1] for option in components[name]["oneOf"]}
        assert "ErrorBody" in refs


def test_a_label_asked_for_as_application_pdf_comes_as_pdf_and_errors_as_json(api, client):
    east = dc(api)
    stock(api.red, east, 5)
    order = packed(api, [(api.red, east, 1)])
    shipment = api.client.post(url(fos_of(order)[0], "ship"), {}, format="json").json()[0]
    label = api.client.get(shipment["urls"]["label_url"], HTTP_ACCEPT="application/pdf")
    assert label.status_code == 200
    assert label["Content-Type"] == "application/pdf"
    assert label.content.startswith(b"%PDF")
    missing = api.client.get("/api/v1/shipments/999999/label.pdf", HTTP_ACCEPT="application/pdf")
    assert (missing.status_code, missing["Content-Type"]) == (404, "application/json")
    documented = schema(client)["paths"]["/api/v1/shipments/{shipment_id}/label.pdf"]["get"]["responses"]
    assert "application/pdf" in documented["200"]["content"]


def test_strict_request_bodies_refuse_unknown_fields_in_the_schema_too(client):
    assert schema(client)["components"]["schemas"]["OrderInRequest"]["additionalProperties"] is False
