"""`inventory.availability_changed`: per SKU, debounced, when safe-to-promise changes.

Stock services do not emit it themselves (that would add a write to every reservation on a hot
SKU). A beat job scans the stock rows changed since its last run (`StockLevel.updated_at`),
recomputes each touched SKU's ATP and safe-to-promise per channel, and emits one event per SKU
whose figures differ from the last ones announced, at most once per SKU per DEBOUNCE.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.models import AvailabilityState, Product, StockLevel, SyncCursor
from inventory.selectors import availability
from oms.models import Channel, Merchant
from oms.outbox import emit_many
from oms.payloads import availability_payload

DEBOUNCE = timedelta(seconds=5)
# Re-scan this far behind the cursor: a transaction that stamped updated_at before the last run
# but committed after it is still seen; unchanged figures are not re-announced.
OVERLAP = timedelta(seconds=60)
CURSOR = "availability_changed"
SLICE = 5000


def _figures(merchant: Merchant, products: list[Product]) -> dict[int, dict[str, Any]]:
    overall = {row.product_id: row for row in availability(merchant=merchant, products=products)}
    promises: dict[int, dict[str, int]] = {product_id: {} for product_id in overall}
    for channel in Channel.objects.filter(merchant=merchant, active=True).order_by("code"):
        for row in availability(merchant=merchant, products=products, channel=channel):
            promises[row.product_id][channel.code] = row.safe_to_promise
    return {
        product_id: availability_payload(row.sku, atp=row.atp, safe_to_promise=promises[product_id])
        for product_id, row in overall.items()
    }


def availability_recheck(*, merchant_id: int | None = None, node_id: int | None = None) -> int:
    """Have the next run recompute the SKUs whose figures a rule or node change may move.

    Safe-to-promise also depends on channel rules and on which nodes are active and counted:
    stamping their stock rows puts those SKUs in front of the job like any stock change.
    """
    rows = StockLevel.objects.all()
    if merchant_id is not None:
        rows = rows.filter(product__merchant_id=merchant_id)
    if node_id is not None:
        rows = rows.filter(node_id=node_id)
    return rows.update(updated_at=timezone.now())


def _changes(product_ids: list[int], now: datetime) -> list[tuple[int, Product, dict[str, Any]]]:
    """The SKUs among these whose figures differ from the last announced (and are not debounced)."""
    by_merchant: dict[int, list[Product]] = defaultdict(list)
    for product in Product.objects.filter(pk__in=product_ids).select_related("merchant"):
        by_merchant[product.merchant_id].append(product)
    states = {s.product_id: s for s in AvailabilityState.objects.filter(product_id__in=product_ids)}
    events: list[tuple[int, Product, dict[str, Any]]] = []
    for products in by_merchant.values():
        figures = _figures(products[0].merchant, products)
        for product in products:
            payload = figures[product.pk]
            state = states.get(product.pk)
            if state is not None and state.payload == payload:
                continue
            if state is not None and now - state.emitted_at < DEBOUNCE:
                continue  # announced moments ago: the next run (within OVERLAP) picks it up
            events.append((product.merchant_id, product, payload))
            AvailabilityState.objects.update_or_create(
                product=product, defaults={"payload": payload, "emitted_at": now}
            )
    return events


def availability_changes_emit(*, now: datetime | None = None) -> int:
    """Emit `inventory.availability_changed` for SKUs whose availability changed; return the count."""
    now = now or timezone.now()
    with transaction.atomic():
        cursor, _ = SyncCursor.objects.select_for_update().get_or_create(
            name=CURSOR, defaults={"position": now - OVERLAP}
        )
        changed = list(
            StockLevel.objects.filter(updated_at__gt=cursor.position - OVERLAP, updated_at__lte=now)
            .order_by("product_id")
            .values_list("product_id", flat=True)
            .distinct()
        )
        events: list[tuple[int, Product, dict[str, Any]]] = []
        # In slices, so a count that touched 100,000 SKUs is announced whole, a slice at a time.
        for start in range(0, len(changed), SLICE):
            events += _changes(changed[start : start + SLICE], now)
        for merchant_id in {m for m, _, _ in events}:
            emit_many(
                [("inventory.availability_changed", p, payload) for m, p, payload in events if m == merchant_id],
                merchant_id=merchant_id,
            )
        cursor.position = now
        cursor.save(update_fields=["position"])
    return len(events)
