"""WMS and store sync: adjustments (deltas, idempotent by id) and snapshots (full counts).

Both go through the stock services, so every change is a ledger movement.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from inventory.models import Movement, Node, Product, Snapshot, StockAdjustment, StockLevel
from inventory.services.stock import stock_adjust, stock_counts_apply, stock_receive
from oms.actors import Actor
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.models import Merchant
from oms.outbox import enqueue_after_commit, enqueue_now
from oms.refs import Ref

logger = logging.getLogger(__name__)

SNAPSHOT_BATCH = 5000
MAX_REJECTIONS_KEPT = 10_000

_KIND = {
    StockAdjustment.Reason.RECEIPT: Movement.Kind.RECEIPT,
    StockAdjustment.Reason.DAMAGE: Movement.Kind.ADJUSTMENT,
    StockAdjustment.Reason.COUNT: Movement.Kind.COUNT_CORRECTION,
    StockAdjustment.Reason.CORRECTION: Movement.Kind.ADJUSTMENT,
}


@dataclass
class AdjustmentOutcome:
    id: str | None
    result: str  # "applied" | "duplicate" | "error"
    errors: list[dict[str, Any]] = field(default_factory=list)
    stock: StockLevel | None = None


def merchant_node(*, merchant: Merchant, code: str, field: str = "node") -> Node:
    """Return an active node that serves the merchant (or that it owns), else InvalidInput."""
    node = (
        Node.objects.filter(Q(merchants=merchant) | Q(owner=merchant), code=code, active=True).distinct().first()
        if isinstance(code, str)
        else None
    )
    if node is None:
        raise InvalidInput([FieldError(field, "unknown_node", f"No active node '{code}' serves this merchant.")])
    return node


def _check_sign(reason: str, quantity: int, path: str) -> None:
    if quantity == 0:
        raise InvalidInput([FieldError(f"{path}.quantity", "invalid", "Must not be zero.")])
    if reason == StockAdjustment.Reason.RECEIPT and quantity < 0:
        raise InvalidInput([FieldError(f"{path}.quantity", "invalid", "A receipt adds stock: must be positive.")])
    if reason == StockAdjustment.Reason.DAMAGE and quantity > 0:
        raise InvalidInput([FieldError(f"{path}.quantity", "invalid", "Damage removes stock: must be negative.")])


def _apply_one(
    merchant: Merchant, item: dict[str, Any], path: str, actor: Actor, products: dict[str, Product]
) -> AdjustmentOutcome:
    ext_id, sku, quantity, reason = item["id"], item["sku"], item["quantity"], item["reason"]
    errors: list[FieldError] = []
    product = products.get(sku)
    if product is None:
        errors.append(FieldError(f"{path}.sku", "unknown_sku", f"No product with SKU '{sku}'."))
    try:
        node = merchant_node(merchant=merchant, code=item["node"], field=f"{path}.node")
    except InvalidInput as exc:
        errors += exc.errors
    try:
        _check_sign(reason, quantity, path)
    except InvalidInput as exc:
        errors += exc.errors
    if errors:
        raise InvalidInput(errors)
    assert product is not None
    existing = StockAdjustment.objects.filter(merchant=merchant, external_id=ext_id).first()
    if existing is not None:
        same = (existing.product_id, existing.node_id, existing.quantity, existing.reason) == (
            product.pk,
            node.pk,
            quantity,
            reason,
        )
        if not same:
            raise Conflict(
                f"Adjustment '{ext_id}' was already applied with different content.",
                field=f"{path}.id",
                code="id_reused",
            )
        return AdjustmentOutcome(ext_id, "duplicate")
    try:
        with transaction.atomic():
            record = StockAdjustment.objects.create(
                merchant=merchant,
                external_id=ext_id,
                product=product,
                node=node,
                quantity=quantity,
                reason=reason,
                actor_label=actor.label[:150],
            )
            ref, note = Ref.to(record), f"{reason} {ext_id}"
            if reason == StockAdjustment.Reason.RECEIPT:
                stock = stock_receive(product=product, node=node, quantity=quantity, actor=actor, reference=ref,
                                      reason=note)  # fmt: skip
            else:
                kind = _KIND.get(reason) or (Movement.Kind.TRANSFER_IN if quantity > 0 else Movement.Kind.TRANSFER_OUT)
                stock = stock_adjust(product=product, node=node, quantity=quantity, actor=actor, reason=note,
                                     reference=ref, kind=kind)  # fmt: skip
    except IntegrityError:  # the same id applied concurrently
        return AdjustmentOutcome(ext_id, "duplicate")
    return AdjustmentOutcome(ext_id, "applied", stock=stock)


def adjustments_apply(
    *, merchant: Merchant, items: list[dict[str, Any]], actor: Actor, positions: list[int] | None = None
) -> list[AdjustmentOutcome]:
    """Apply each adjustment on its own (idempotent by id); return an outcome per item, in order.

    Items must already be shape-validated (id, sku, node, quantity, reason); `positions` are
    their indexes in the request, for error paths. One item's error does not stop the others.
    """
    skus = {item["sku"] for item in items}
    products = {p.sku: p for p in Product.objects.filter(merchant=merchant, sku__in=skus).select_related("merchant")}
    outcomes = []
    for index, item in enumerate(items):
        path = f"adjustments[{positions[index] if positions else index}]"
        try:
            outcomes.append(_apply_one(merchant, item, path, actor, products))
        except DomainError as exc:
            errors = [
                {**e.as_dict(), "field": e.field if (e.field or "").startswith(path) else f"{path}.{e.field or 'id'}"}
                for e in exc.errors
            ]
            outcomes.append(AdjustmentOutcome(item["id"], "error", errors))
    return outcomes


# --- snapshots -------------------------------------------------------------------------------


def _enqueue(snapshot_id: int) -> None:
    """Process the snapshot in a job after commit; with the broker down the resume job does."""
    from inventory.tasks import snapshot_process

    enqueue_after_commit(snapshot_process, snapshot_id)


@transaction.atomic
def snapshot_submit(*, merchant: Merchant, data: dict[str, Any], actor: Actor, fingerprint: str) -> Snapshot:
    """Accept a full count of one node, to be applied in batches by a Celery job.

    Idempotent by snapshot id (the same body returns the same snapshot). A snapshot older than
    the newest one already accepted for the node is refused (Conflict).
    """
    existing = Snapshot.objects.filter(merchant=merchant, external_id=data["id"]).first()
    if existing is not None:
        if existing.request_hash != fingerprint:
            raise Conflict(
                f"Snapshot '{data['id']}' was already received with a different body.", field="id", code="id_reused"
            )
        return existing
    node = merchant_node(merchant=merchant, code=data["node"])
    # Serialise snapshots of one node, so "newest" is decided one at a time.
    Node.objects.select_for_update(no_key=True).filter(pk=node.pk).first()
    newest = Snapshot.objects.filter(merchant=merchant, node=node).order_by("-as_of").first()
    if newest is not None and newest.as_of > data["as_of"]:
        raise Conflict(
            f"Snapshot '{data['id']}' is as of {data['as_of']:%Y-%m-%dT%H:%M:%SZ}, older than snapshot "
            f"'{newest.external_id}' (as of {newest.as_of:%Y-%m-%dT%H:%M:%SZ}) already received for {node.code}.",
            field="as_of",
            code="stale_snapshot",
        )
    try:
        with transaction.atomic():
            snapshot = Snapshot.objects.create(
                merchant=merchant,
                external_id=data["id"],
                node=node,
                as_of=data["as_of"],
                counts=data["counts"],
                rows_total=len(data["counts"]),
                has_duplicates=len(_first_rows(data["counts"])) < len(data["counts"]),
                request_hash=fingerprint,
                actor_label=actor.label[:150],
            )
    except IntegrityError:
        return snapshot_submit(merchant=merchant, data=data, actor=actor, fingerprint=fingerprint)
    _enqueue(snapshot.pk)
    return snapshot


def _reject(row: int, sku: Any, field: str, code: str, message: str) -> dict[str, Any]:
    return {"row": row, "sku": sku if isinstance(sku, str) else None, "field": field, "code": code, "message": message}


def _parse(rows: list[Any], start: int, seen_first: dict[str, int]) -> tuple[list[tuple[int, str, int]], list[dict]]:
    good, bad = [], []
    for offset, raw in enumerate(rows):
        index = start + offset
        if not isinstance(raw, dict):
            bad.append(_reject(index, None, f"counts[{index}]", "invalid", "Must be an object with sku and on_hand."))
            continue
        sku, on_hand = raw.get("sku"), raw.get("on_hand")
        unknown = set(raw) - {"sku", "on_hand"}
        if not isinstance(sku, str) or not sku:
            bad.append(_reject(index, sku, f"counts[{index}].sku", "invalid", "Must be a non-empty string."))
        elif isinstance(on_hand, bool) or not isinstance(on_hand, int):
            bad.append(_reject(index, sku, f"counts[{index}].on_hand", "invalid", "Must be an integer."))
        elif on_hand < 0:
            bad.append(_reject(index, sku, f"counts[{index}].on_hand", "negative", "A count cannot be negative."))
        elif unknown:
            field = f"counts[{index}].{sorted(unknown)[0]}"
            bad.append(_reject(index, sku, field, "unknown_field", "Unknown field."))
        elif seen_first and seen_first.get(sku, index) != index:
            first = seen_first[sku]
            bad.append(_reject(index, sku, f"counts[{index}].sku", "duplicate", f"Also counted in row {first}."))
        else:
            good.append((index, sku, on_hand))
    return good, bad


def _first_rows(counts: list[Any]) -> dict[str, int]:
    first: dict[str, int] = {}
    for index, raw in enumerate(counts):
        if isinstance(raw, dict) and isinstance(raw.get("sku"), str):
            first.setdefault(raw["sku"], index)
    return first


def _older_open(snapshot: Snapshot) -> bool:
    return (
        Snapshot.objects.filter(merchant_id=snapshot.merchant_id, node_id=snapshot.node_id)
        .exclude(status=Snapshot.Status.COMPLETED)
        .filter(Q(as_of__lt=snapshot.as_of) | Q(as_of=snapshot.as_of, pk__lt=snapshot.pk))
        .exists()
    )


def snapshot_process_batch(*, snapshot_id: int, batch_size: int = SNAPSHOT_BATCH, actor: Actor | None = None) -> bool:
    """Apply the next batch of a snapshot in one transaction. Return True while work remains.

    The cursor moves in the same transaction as the stock, so a crash repeats no row.
    """
    with transaction.atomic():
        snapshot = Snapshot.objects.select_for_update().select_related("node", "merchant").get(pk=snapshot_id)
        if snapshot.status == Snapshot.Status.COMPLETED or _older_open(snapshot):
            return False
        actor = actor or Actor.system(f"snapshot {snapshot.external_id}")
        reference = Ref.to(snapshot)
        snapshot.status = Snapshot.Status.PROCESSING
        if snapshot.cursor < snapshot.rows_total:
            first = _first_rows(snapshot.counts) if snapshot.has_duplicates else {}
            chunk = snapshot.counts[snapshot.cursor : snapshot.cursor + batch_size]
            good, bad = _parse(chunk, snapshot.cursor, first)
            wanted = Product.objects.filter(merchant=snapshot.merchant, sku__in=[sku for _, sku, _ in good])
            products = {p.sku: p for p in wanted.only("pk", "sku", "merchant_id")}
            counts = []
            for index, sku, on_hand in good:
                if sku in products:
                    counts.append((products[sku], on_hand))
                else:
                    bad.append(_reject(index, sku, f"counts[{index}].sku", "unknown_sku", f"No product '{sku}'."))
            result = stock_counts_apply(
                node=snapshot.node,
                counts=counts,
                actor=actor,
                reference=reference,
                as_of=snapshot.as_of,
                reason=f"snapshot {snapshot.external_id}",
            )
            snapshot.cursor += len(chunk)
            snapshot.rows_applied += result.applied
            snapshot.rows_unchanged += result.unchanged
            snapshot.rows_rejected += len(bad)
            room = MAX_REJECTIONS_KEPT - len(snapshot.rejections)
            snapshot.rejections = snapshot.rejections + sorted(bad, key=lambda r: r["row"])[: max(room, 0)]
            snapshot.shortfalls = snapshot.shortfalls + result.shortfalls
        else:
            _zero_missing(snapshot, actor, reference)
            snapshot.status = Snapshot.Status.COMPLETED
            snapshot.completed_at = timezone.now()
        # Never write `counts` back: it is the large, immutable part of the row.
        snapshot.save(
            update_fields=[
                "status", "cursor", "rows_applied", "rows_unchanged", "rows_rejected", "rows_zeroed", "rejections",
                "shortfalls", "completed_at", "updated_at",
            ]
        )  # fmt: skip
        done = snapshot.status == Snapshot.Status.COMPLETED
        if done:
            nxt = (
                Snapshot.objects.filter(merchant_id=snapshot.merchant_id, node_id=snapshot.node_id)
                .exclude(status=Snapshot.Status.COMPLETED)
                .exclude(pk=snapshot.pk)
                .order_by("as_of", "pk")
                .first()
            )
            if nxt is not None:
                _enqueue(nxt.pk)
        return not done


def _zero_missing(snapshot: Snapshot, actor: Actor, reference: Ref) -> None:
    """A full count: the merchant's SKUs at the node that it does not name had none at as_of."""
    named = set(_first_rows(snapshot.counts))
    stocks = (
        StockLevel.objects.filter(node=snapshot.node, product__merchant=snapshot.merchant)
        .exclude(on_hand=0, allocated=0)
        .select_related("product")
    )
    counts = [(s.product, 0) for s in stocks if s.product.sku not in named]
    for start in range(0, len(counts), SNAPSHOT_BATCH):
        result = stock_counts_apply(
            node=snapshot.node,
            counts=counts[start : start + SNAPSHOT_BATCH],
            actor=actor,
            reference=reference,
            as_of=snapshot.as_of,
            reason=f"snapshot {snapshot.external_id} (not counted)",
        )
        snapshot.rows_zeroed += result.applied
        snapshot.shortfalls = snapshot.shortfalls + result.shortfalls


def snapshot_process(*, snapshot_id: int, batch_size: int = SNAPSHOT_BATCH) -> None:
    """Apply a snapshot batch by batch (each batch its own transaction) until it is complete."""
    while snapshot_process_batch(snapshot_id=snapshot_id, batch_size=batch_size):
        pass


def snapshots_resume(*, stale_after: timedelta = timedelta(minutes=2)) -> int:
    """Re-enqueue snapshots left unfinished (a lost task or a crashed worker); return how many."""
    cutoff = timezone.now() - stale_after
    ids = list(
        Snapshot.objects.exclude(status=Snapshot.Status.COMPLETED)
        .filter(updated_at__lt=cutoff)
        .values_list("pk", flat=True)[:100]
    )
    from inventory.tasks import snapshot_process

    for pk in ids:
        enqueue_now(snapshot_process, pk)
    return len(ids)
