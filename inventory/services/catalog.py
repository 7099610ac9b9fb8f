"""Writes to the catalogue (products) and the network (nodes)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from inventory.geocoding import geocode
from inventory.models import ChannelRule, Node, Product
from inventory.services.availability import availability_recheck
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.models import Channel, Merchant


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
    outcomes: list[str] = []
    to_create: dict[str, Product] = {}
    to_update: dict[str, Product] = {}
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


class Forbidden(DomainError):
    """The merchant may see the object but not change it (HTTP 403)."""

    status = 403
    code = "forbidden"


def node_locate(node: Node) -> None:
    """Fill the node's coordinates from its address unless they were set by hand."""
    if node.latitude is not None and node.longitude is not None and node.geo_precision == Node.GeoPrecision.MANUAL:
        return
    point = geocode(country=node.country, region=node.region, postal_code=node.postal_code)
    if point.known:
        node.latitude = Decimal(str(round(point.latitude, 6)))  # type: ignore[arg-type]
        node.longitude = Decimal(str(round(point.longitude, 6)))  # type: ignore[arg-type]
    else:
        node.latitude = node.longitude = None
    node.geo_precision = point.precision


def _node_apply(node: Node, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(node, name, value)
    if "latitude" in data or "longitude" in data:
        if node.latitude is not None and node.longitude is not None:
            node.geo_precision = Node.GeoPrecision.MANUAL
        else:
            node_locate(node)
    elif node.geo_precision != Node.GeoPrecision.MANUAL or node.latitude is None:
        node_locate(node)
    try:
        node.full_clean(exclude=["owner", "merchants"])
    except ValidationError as exc:
        raise InvalidInput.from_form_errors(exc.message_dict) from None


def node_create(*, merchant: Merchant, data: dict[str, Any]) -> Node:
    """Create a node owned (and so managed) by the merchant, serving it."""
    node = Node(owner=merchant)
    # Codes are global (nodes are shared between merchants), so whose node holds a code is
    # nobody else's business: one answer, the same for a merchant's own code and another's.
    refused = Conflict(
        f"The node code '{data.get('code')}' is not available; choose another.", field="code", code="code_unavailable"
    )
    if Node.objects.filter(code=data.get("code")).exists():
        raise refused
    _node_apply(node, data)
    try:
        with transaction.atomic():
            node.save()
            node.merchants.add(merchant)
    except IntegrityError:
        raise refused from None
    return node


@transaction.atomic
def node_update(*, merchant: Merchant | None, node: Node, data: dict[str, Any]) -> Node:
    """Change a node. A merchant (merchant given) may change only the nodes it owns."""
    if merchant is not None and node.owner_id != merchant.pk:
        raise Forbidden(
            f"Node '{node.code}' is shared; it is managed by the operator, not through the API.", field="code"
        )
    _node_apply(node, data)
    node.save()
    availability_recheck(node_id=node.pk)
    return node


def channel_rule_set(*, channel: Channel, data: dict[str, Any]) -> ChannelRule:
    """Create or replace the channel's availability rule."""
    if data.get("buffer_type") == ChannelRule.BufferType.PERCENT and data.get("buffer_value", 0) > 100:
        raise InvalidInput([FieldError("buffer_value", "invalid", "A percentage cannot exceed 100.")])
    rule, _ = ChannelRule.objects.update_or_create(channel=channel, defaults=data)
    availability_recheck(merchant_id=channel.merchant_id)
    return rule
