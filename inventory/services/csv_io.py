"""Stock CSV export and import for one node (the admin's), through the same stock services."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from inventory.models import Node, Product, StockLevel
from inventory.selectors import stock_atp
from inventory.services.stock import stock_counts_apply, stock_settings_update
from oms.actors import Actor
from oms.models import Merchant
from oms.refs import Ref

EXPORT_COLUMNS = ["merchant", "sku", "on_hand", "allocated", "safety_stock", "reorder_threshold", "atp"]
REQUIRED = {"sku", "on_hand"}


def stock_export_csv(*, node: Node) -> str:
    """Return the node's stock as CSV (one row per merchant SKU held there)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = (
        StockLevel.objects.filter(node=node)
        .select_related("product__merchant")
        .order_by("product__merchant__code", "product__sku")
    )
    for s in rows:
        threshold = "" if s.reorder_threshold is None else s.reorder_threshold
        writer.writerow(
            [s.product.merchant.code, s.product.sku, s.on_hand, s.allocated, s.safety_stock, threshold, stock_atp(s)]
        )
    return out.getvalue()


@dataclass
class ImportResult:
    applied: int = 0
    unchanged: int = 0
    settings_changed: int = 0
    deallocated: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, message)


def _int(value: str | None, *, blank_ok: bool) -> int | None:
    value = (value or "").strip()
    if value == "":
        if blank_ok:
            return None
        raise ValueError("is required")
    try:
        number = int(value)
    except ValueError:
        raise ValueError("is not a whole number") from None
    if number < 0:
        raise ValueError("must not be negative")
    return number


def stock_import_csv(*, node: Node, text: str, actor: Actor) -> ImportResult:
    """Apply a stock CSV (merchant, sku, on_hand[, safety_stock, reorder_threshold]) to a node.

    on_hand is a count: the difference becomes a `count_correction` movement. Bad lines are
    reported by line number; the good ones apply, together, in one transaction. The merchant
    column may be left out when the node serves a single merchant.
    """
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    columns = {c.strip() for c in (reader.fieldnames or [])}
    missing = REQUIRED - columns
    if missing:
        result.errors.append((1, f"missing column(s): {', '.join(sorted(missing))}"))
        return result
    merchants = {m.code: m for m in Merchant.objects.filter(nodes=node)} | (
        {node.owner.code: node.owner} if node.owner else {}
    )
    only = next(iter(merchants.values())) if len(merchants) == 1 else None
    parsed: list[tuple[int, Product, int, int | None, int | None, bool]] = []
    seen: set[tuple[int, int]] = set()
    lines = [(n, {(k or "").strip(): v for k, v in row.items()}) for n, row in enumerate(reader, start=2)]
    wanted: dict[str, set[str]] = {
        (row.get("merchant") or "").strip() or (only.code if only else ""): set() for _, row in lines
    }
    for _, row in lines:
        code = (row.get("merchant") or "").strip() or (only.code if only else "")
        wanted[code].add((row.get("sku") or "").strip())
    products = {
        (p.merchant.code, p.sku): p
        for code, skus in wanted.items()
        if code in merchants
        for p in Product.objects.filter(merchant=merchants[code], sku__in=skus).select_related("merchant")
    }
    for line, row in lines:
        code = (row.get("merchant") or "").strip() or (only.code if only else "")
        sku = (row.get("sku") or "").strip()
        if code not in merchants:
            result.errors.append((line, f"merchant '{code}' is not served by {node.code}"))
            continue
        product = products.get((code, sku))
        if product is None:
            result.errors.append((line, f"unknown SKU '{sku}' for merchant {code}"))
            continue
        if (product.pk, node.pk) in seen:
            result.errors.append((line, f"SKU '{sku}' appears twice"))
            continue
        values: dict[str, int | None] = {}
        try:
            for column in ("on_hand", "safety_stock", "reorder_threshold"):
                values[column] = _int(row.get(column), blank_ok=column != "on_hand")
        except ValueError as exc:
            result.errors.append((line, f"{sku}: {column} {exc}"))
            continue
        on_hand, safety, threshold = values["on_hand"], values["safety_stock"], values["reorder_threshold"]
        seen.add((product.pk, node.pk))
        assert on_hand is not None
        parsed.append((line, product, on_hand, safety, threshold, "reorder_threshold" in columns))
    if not parsed:
        return result
    reference = Ref("inventory.csv_import", f"{node.code}@{timezone.now():%Y%m%dT%H%M%S}")
    with transaction.atomic():
        by_merchant: dict[int, list[tuple[Product, int]]] = {}
        for _, product, on_hand, _, _, _ in parsed:
            by_merchant.setdefault(product.merchant_id, []).append((product, on_hand))
        for counts in by_merchant.values():
            counted = stock_counts_apply(
                node=node, counts=counts, actor=actor, reference=reference, reason="CSV import"
            )
            result.applied += counted.applied
            result.unchanged += counted.unchanged
            result.deallocated += counted.deallocated
        for _, product, _, safety, threshold, has_threshold in parsed:
            if safety is None and not has_threshold:
                continue
            stock = StockLevel.objects.get(product=product, node=node)
            if safety == stock.safety_stock and (not has_threshold or threshold == stock.reorder_threshold):
                continue
            stock_settings_update(
                stock=stock, actor=actor, safety_stock=safety, reorder_threshold=threshold if has_threshold else "keep"
            )
            result.settings_changed += 1
    return result
