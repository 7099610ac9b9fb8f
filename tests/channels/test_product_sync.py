"""A product sync fills the SKU map from the platform's own listings (ids kept exact)."""

from __future__ import annotations

import pytest

from orders.channels.models import ChannelSkuMap

pytestmark = pytest.mark.django_db


def test_shopify_variants_give_their_inventory_item_ids(api, shop, shopify_server):
    shopify_server.products = [
        {"id": 8000000000001, "title": "T-shirt", "variants": [
            {"id": 44000000000001, "sku": "TSHIRT-RED-M", "inventory_item_id": 9007199254740993},
            {"id": 44000000000002, "sku": "", "inventory_item_id": 9007199254740994},
        ]},
    ]  # fmt: skip
    response = api.client.post(f"/api/v1/channels/connections/{shop.uuid}/sku-map/sync/")
    assert response.status_code == 202
    entry = ChannelSkuMap.objects.get(connection=shop)
    assert (entry.sku, entry.variant_id, entry.inventory_item_id) == (
        "TSHIRT-RED-M", "44000000000001", "9007199254740993"
    )  # fmt: skip


def test_woocommerce_products_and_their_variations_fill_the_map(api, woo, woo_server):
    woo_server.products = [
        {"id": 93, "type": "variable", "sku": ""},
        {"id": 94, "type": "simple", "sku": "TSHIRT-BLUE-M"},
    ]
    woo_server.variations = {93: [{"id": 101, "sku": "TSHIRT-RED-M"}]}
    assert api.client.post(f"/api/v1/channels/connections/{woo.uuid}/sku-map/sync/").status_code == 202
    found = {e.sku: (e.product_id, e.variant_id) for e in ChannelSkuMap.objects.filter(connection=woo)}
    assert found == {"TSHIRT-RED-M": ("93", "101"), "TSHIRT-BLUE-M": ("94", "")}
