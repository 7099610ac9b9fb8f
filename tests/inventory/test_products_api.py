from __future__ import annotations

URL = "/api/v1/products/"


def test_it_creates_a_product_with_its_fulfilment_attributes(api):
    body = {
        "sku": "LAMP-1",
        "name": "Desk lamp",
        "barcode": "0012345678929",
        "barcodes": ["4006381333931"],
        "tags": ["lighting", "fragile"],
        "tax_code": "P0000000",
        "unit_of_measure": "each",
        "weight_kg": "1.25",
        "length_cm": 30,
        "width_cm": "20.5",
        "height_cm": "45",
        "returnable": False,
        "return_window_days": 0,
        "ship_alone": True,
        "hazmat": False,
    }
    response = api.client.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    got = response.json()
    assert got["tax_code"] == "P0000000"
    assert got["barcodes"] == ["4006381333931"]
    assert got["weight_kg"] == "1.250"
    assert got["ship_alone"] is True
    assert got["returnable"] is False


def test_it_patches_the_new_fields(api):
    response = api.client.patch(f"{URL}TSHIRT-RED-M/", {"tags": ["summer"], "hazmat": True}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["tags"], response.json()["hazmat"]) == (["summer"], True)


def test_it_refuses_a_negative_weight(api):
    response = api.client.patch(f"{URL}TSHIRT-RED-M/", {"weight_kg": "-1"}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "weight_kg"
