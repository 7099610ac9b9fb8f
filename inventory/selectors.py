from __future__ import annotations

from django.db.models import QuerySet

from inventory.models import Product
from oms.errors import NotFound
from oms.models import Merchant


def product_list(*, merchant: Merchant) -> QuerySet[Product]:
    return Product.objects.filter(merchant=merchant).order_by("sku")


def product_get(*, merchant: Merchant, sku: str) -> Product:
    product = Product.objects.filter(merchant=merchant, sku=sku).first()
    if product is None:
        raise NotFound(f"No product with SKU '{sku}'.")
    return product
