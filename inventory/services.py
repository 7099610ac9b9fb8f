"""Writes to the catalogue and the network. Stock services join this module later."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction

from inventory.models import Product
from oms.errors import Conflict
from oms.models import Merchant


def product_create(*, merchant: Merchant, data: dict[str, Any]) -> Product:
    try:
        with transaction.atomic():
            return Product.objects.create(merchant=merchant, **data)
    except IntegrityError:
        raise Conflict(
            f"A product with SKU '{data['sku']}' already exists.", field="sku", code="duplicate_sku"
        ) from None


def product_update(*, product: Product, data: dict[str, Any]) -> Product:
    for name, value in data.items():
        setattr(product, name, value)
    product.save()
    return product


@transaction.atomic
def products_upsert(*, merchant: Merchant, items: list[dict[str, Any]]) -> list[str]:
    """Create or update each item by SKU; return 'created' or 'updated' per item, in order."""
    existing = {p.sku: p for p in Product.objects.filter(merchant=merchant, sku__in=[i["sku"] for i in items])}
    outcomes, to_create, to_update = [], {}, {}
    for item in items:
        product = existing.get(item["sku"]) or to_create.get(item["sku"])
        if product is None:
            product = Product(merchant=merchant, **item)
            to_create[item["sku"]] = product
            outcomes.append("created")
            continue
        for name, value in item.items():
            setattr(product, name, value)
        if product.pk:
            to_update[product.sku] = product
        outcomes.append("updated")
    Product.objects.bulk_create(to_create.values())
    fields = sorted({name for item in items for name in item} - {"sku"})
    if to_update and fields:
        Product.objects.bulk_update(to_update.values(), fields)
    return outcomes
