"""The only code that writes stock: reserve, unreserve, consume, receive, adjust, count, transfer.

Every change of `on_hand` or `allocated` writes its ledger rows (`Movement`) in the same
transaction, so each stock row always equals the sums of its movements.

Concurrency (docs/INVENTORY.md):
- `stock_reserve` never reads then writes: each line is one conditional UPDATE that succeeds
  only while enough stock is free, so two callers can never both take the last unit.
- Every service that touches several stock rows takes them in ascending stock-row id, so two
  multi-line calls in opposite SKU orders queue instead of deadlocking. Should PostgreSQL still
  report a deadlock (a lock taken by code outside these services), the outermost call is
  retried transparently (`DEADLOCK_RETRIES`).
- Row locks are FOR NO KEY UPDATE, so ledger inserts that reference the row are not blocked.
"""

from __future__ import annotations

import functools
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Max, Q, Sum
from django.utils import timezone

from inventory.models import Movement, Node, Product, StockLevel
from inventory.selectors import stock_atp
from oms.actors import Actor
from oms.alerts import exception_raise, exceptions_close_for
from oms.errors import Conflict, DomainError, FieldError, InvalidInput
from oms.outbox import emit
from oms.payloads import received_payload, shortfall_payload, stock_level_payload
from oms.refs import Ref

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

DEADLOCK_RETRIES = 3
SYSTEM = Actor.system("inventory")
LOW_STOCK = "low_stock"
SHORTFALL = "inventory_shortfall"

# How many deadlocks were retried in this process (the race tests report it).
deadlock_retries = 0


# --- what callers pass and get back --------------------------------------------------------


@dataclass(frozen=True)
class ReserveItem:
    """Reserve `quantity` of a product at a node, leaving at least `floor` units free."""

    product_id: int
    node_id: int
    quantity: int
    floor: int = 0
    reference: Ref | None = None  # this line's own reference; defaults to the call's

    @classmethod
    def of(cls, product: Product, node: Node, quantity: int, *, floor: int = 0, reference: Ref | None = None) -> Any:
        return cls(product.pk, node.pk, quantity, floor, reference)


@dataclass(frozen=True)
class Reserved:
    index: int
    product_id: int
    node_id: int
    stock_id: int
    quantity: int
    reference: Ref


@dataclass(frozen=True)
class ReserveFailure:
    index: int  # position of the failing line in the caller's list
    product_id: int
    node_id: int
    requested: int
    available: int  # what could have been reserved at that moment, floor respected
    code: str  # "insufficient_stock" | "floor" | "no_stock" | "invalid_quantity"
    message: str


@dataclass(frozen=True)
class ReserveResult:
    reserved: list[Reserved] = field(default_factory=list)
    failure: ReserveFailure | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


@dataclass(frozen=True)
class StockLine:
    """A (product, node, quantity) for consume and unreserve; quantity None = all held."""

    product_id: int
    node_id: int
    quantity: int | None = None


@dataclass(frozen=True)
class Released:
    product_id: int
    node_id: int
    stock_id: int
    quantity: int
    reference: Ref


# --- helpers ---------------------------------------------------------------------------------


def _is_deadlock(exc: BaseException) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) in ("40P01", "40001")


def retry_on_deadlock(fn: Callable[P, T]) -> Callable[P, T]:
    """Retry the whole transaction on a deadlock, unless it runs inside the caller's transaction."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        global deadlock_retries
        if connection.in_atomic_block:
            return fn(*args, **kwargs)
        for attempt in range(DEADLOCK_RETRIES + 1):
            try:
                return fn(*args, **kwargs)
            except OperationalError as exc:
                if attempt == DEADLOCK_RETRIES or not _is_deadlock(exc):
                    raise
                deadlock_retries += 1
                logger.warning("deadlock in %s, retrying (%d)", fn.__name__, attempt + 1)
        raise AssertionError("unreachable")

    return wrapper


def _movement(
    stock: StockLevel | int,
    kind: str,
    *,
    actor: Actor,
    on_hand: int = 0,
    allocated: int = 0,
    reason: str = "",
    reference: Ref | None = None,
) -> Movement:
    return Movement(
        stock_id=stock if isinstance(stock, int) else stock.pk,
        kind=kind,
        on_hand_delta=on_hand,
        allocated_delta=allocated,
        reason=reason[:255],
        ref_type=reference.type if reference else "",
        ref_id=reference.id if reference else "",
        actor_kind=actor.kind,
        actor_label=actor.label[:150],
    )


def stock_lock(*, product_id: int, node_id: int, create: bool = True) -> StockLevel | None:
    """Return the stock row under a row lock, creating an empty one if asked and missing."""
    # of=self: lock the stock row only, not the joined product and node rows (that would queue
    # every change at a node behind one lock).
    qs = StockLevel.objects.select_for_update(no_key=True, of=("self",)).select_related("product", "node")
    row = qs.filter(product_id=product_id, node_id=node_id).first()
    if row is None and create:
        try:
            with transaction.atomic():
                StockLevel.objects.create(product_id=product_id, node_id=node_id)
        except IntegrityError:  # created concurrently: use theirs
            pass
        row = qs.get(product_id=product_id, node_id=node_id)
    return row


def _lock_rows(ids: Iterable[int]) -> dict[int, StockLevel]:
    # Ascending id: the one lock order every stock service follows.
    rows = (
        StockLevel.objects.select_for_update(no_key=True, of=("self",))
        .select_related("product", "node")
        .filter(pk__in=set(ids))
        .order_by("pk")
    )
    return {row.pk: row for row in rows}


def _write(stock: StockLevel, movements: list[Movement]) -> None:
    """Apply the movements' deltas to the (locked) row and append them to the ledger."""
    d_on_hand = sum(m.on_hand_delta for m in movements)
    d_allocated = sum(m.allocated_delta for m in movements)
    if d_on_hand or d_allocated:
        StockLevel.objects.filter(pk=stock.pk).update(
            on_hand=F("on_hand") + d_on_hand, allocated=F("allocated") + d_allocated, updated_at=timezone.now()
        )
        stock.on_hand += d_on_hand
        stock.allocated += d_allocated
    Movement.objects.bulk_create(movements)


def low_stock_check(*, stock: StockLevel) -> None:
    """Raise (or close) the low-stock exception when the row's ATP crosses its threshold.

    The `low_stock` flag flips with a compare-and-set, so a crossing alerts once however many
    reservations follow it, and a concurrent caller cannot alert twice.
    """
    below = stock.reorder_threshold is not None and stock_atp(stock) < stock.reorder_threshold
    if below == stock.low_stock:
        return
    flipped = StockLevel.objects.filter(pk=stock.pk, low_stock=stock.low_stock).update(low_stock=below)
    stock.low_stock = below
    if not flipped:
        return
    if below:
        message = (
            f"ATP of {stock.product.sku} at {stock.node.code} is {stock_atp(stock)}, "
            f"below its reorder threshold of {stock.reorder_threshold}."
        )
        exception_raise(type=LOW_STOCK, subject=stock, message=message, merchant=stock.product.merchant)
        payload = stock_level_payload(stock, atp=stock_atp(stock))
        emit("inventory.low_stock", subject=stock, merchant_id=stock.product.merchant_id, payload=payload)
    else:
        exceptions_close_for(subject=stock, type=LOW_STOCK, actor=SYSTEM, note=f"ATP back to {stock_atp(stock)}")


def _emit_received(node: Node, received: list[tuple[StockLevel, int]], kind: str, reference: Ref | None) -> None:
    """Emit one `inventory.received` for units that became available at a node.

    One event per call (a receipt, or a whole snapshot batch), its items one per SKU, so a
    100,000-row count does not publish 100,000 messages. Routing re-allocates backorders from it.
    """
    merchant_id = received[0][0].product.merchant_id
    items = [(stock, quantity, stock_atp(stock)) for stock, quantity in received]
    payload = received_payload(node, kind=kind, reference=reference, items=items)
    emit("inventory.received", subject=node, merchant_id=merchant_id, payload=payload)


def _ledger_insert(rows: list[tuple[Any, ...]]) -> None:
    """Append ledger rows given as tuples in _LEDGER_SQL's column order.

    Plain executemany (pipelined by psycopg) rather than the ORM: reservations and snapshot
    batches are the hottest write paths, and model instances cost more than the INSERT.
    """
    if not rows:
        return
    with connection.cursor() as cursor:
        if len(rows) == 1:  # executemany pipelines: more round trips than one plain INSERT
            cursor.execute(_LEDGER_SQL, rows[0])
        elif connection.vendor == "postgresql" and len(rows) > 20:
            cursor.execute(_LEDGER_PG, [list(column) for column in zip(*rows, strict=True)])
        else:
            cursor.executemany(_LEDGER_SQL, rows)


_SET_STOCK_SQL = "UPDATE inventory_stocklevel SET on_hand = %s, allocated = %s, updated_at = %s WHERE id = %s"
_SET_STOCK_PG = (
    "UPDATE inventory_stocklevel s SET on_hand = v.on_hand, allocated = v.allocated, updated_at = %s "
    "FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::int[]) AS on_hand, unnest(%s::int[]) AS allocated) v "
    "WHERE s.id = v.id"
)


def _set_stock(rows: list[StockLevel], now: datetime) -> None:
    """Write on_hand/allocated of many locked rows at once (bulk_update's CASE is far slower)."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ids, on_hand, allocated = [r.pk for r in rows], [r.on_hand for r in rows], [r.allocated for r in rows]
            cursor.execute(_SET_STOCK_PG, [now, ids, on_hand, allocated])
        else:
            cursor.executemany(_SET_STOCK_SQL, [(r.on_hand, r.allocated, now, r.pk) for r in rows])


def holdings(*, reference: Ref, stock_ids: Iterable[int] | None = None) -> dict[int, int]:
    """Return {stock id: units the reference holds there}, from the ledger."""
    qs = Movement.objects.filter(ref_type=reference.type, ref_id=reference.id)
    if stock_ids is not None:
        qs = qs.filter(stock_id__in=list(stock_ids))
    sums = qs.values("stock_id").annotate(held=Sum("allocated_delta")).filter(held__gt=0)
    return {row["stock_id"]: row["held"] for row in sums}


def _cover_shortfall(stock: StockLevel, new_on_hand: int, *, actor: Actor, cause: str) -> list[Movement]:
    """De-allocate the newest reservations until `allocated` fits in `new_on_hand`.

    Return the de-allocation movements (not yet written) and emit `inventory.shortfall` naming
    each affected reference, for routing to re-route or hold those orders.
    """
    missing = stock.allocated - max(new_on_hand, 0)
    if missing <= 0:
        return []
    held = (
        Movement.objects.filter(stock=stock)
        .exclude(ref_type="")
        .values("ref_type", "ref_id")
        .annotate(held=Sum("allocated_delta"), last=Max("id"))
        .filter(held__gt=0)
        .order_by("-last")
    )
    movements: list[Movement] = []
    affected: list[dict[str, Any]] = []
    for row in held:
        if missing <= 0:
            break
        take = min(row["held"], missing)
        ref = Ref(row["ref_type"], row["ref_id"])
        movements.append(
            _movement(stock, Movement.Kind.DEALLOCATION, actor=actor, allocated=-take, reason=cause, reference=ref)
        )
        affected.append({"type": ref.type, "id": ref.id, "quantity": take})
        missing -= take
    if missing > 0:  # allocations without a reference (should not happen): release them anyway
        movements.append(_movement(stock, Movement.Kind.DEALLOCATION, actor=actor, allocated=-missing, reason=cause))
    payload = shortfall_payload(stock, cause=cause, references=affected)
    emit("inventory.shortfall", subject=stock, merchant_id=stock.product.merchant_id, payload=payload)
    names = ", ".join(f"{a['type']}:{a['id']} ({a['quantity']})" for a in affected) or "none"
    exception_raise(
        type=SHORTFALL,
        subject=stock,
        message=f"{cause}. {payload['shortage']} reserved unit(s) of {stock.product.sku} at {stock.node.code} "
        f"were de-allocated, newest first: {names}.",
        merchant=stock.product.merchant,
        severity="high",
    )
    return movements


# --- reserve / unreserve / consume -----------------------------------------------------------

_RETURNED = ("id", "product_id", "node_id", "on_hand", "allocated", "safety_stock", "reorder_threshold", "low_stock")
# Every line of a reservation and its ledger rows in one statement. The sub-select locks the rows
# in ascending id (the lock order of every stock service) before the UPDATE touches them, and the
# condition is checked on each row as it stands under that lock: rows without enough free stock
# are left out. The ledger INSERT (a data-modifying CTE, run once whether or not it is read)
# writes one row per line only when every (product, node) was taken, so a refusal writes no
# ledger row; what a refused statement took is given back by the caller.
_RESERVE_PG = (
    "WITH taken AS (UPDATE inventory_stocklevel s SET allocated = s.allocated + w.quantity, updated_at = %s "
    "FROM (SELECT l.id, w.quantity, w.floor FROM inventory_stocklevel l "
    "JOIN unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[]) AS w(product_id, node_id, quantity, floor) "
    "ON l.product_id = w.product_id AND l.node_id = w.node_id ORDER BY l.id FOR NO KEY UPDATE OF l) w "
    "WHERE s.id = w.id AND s.on_hand - s.allocated - s.safety_stock - w.floor >= w.quantity"
    " RETURNING " + ", ".join(f"s.{column}" for column in _RETURNED) + "), "
    "ledger AS (INSERT INTO inventory_movement (stock_id, kind, on_hand_delta, allocated_delta, reason, ref_type, "
    "ref_id, actor_kind, actor_label, created_at, occurred_at) "
    "SELECT taken.id, %s, 0, i.quantity, %s, i.ref_type, i.ref_id, %s, %s, %s, NULL "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::varchar[], %s::varchar[]) WITH ORDINALITY "
    "AS i(product_id, node_id, quantity, ref_type, ref_id, n) "
    "JOIN taken ON taken.product_id = i.product_id AND taken.node_id = i.node_id "
    "WHERE (SELECT count(*) FROM taken) = %s ORDER BY i.n) "
    "SELECT * FROM taken"
)
_RESERVE_ONE_SQL = (
    "UPDATE inventory_stocklevel SET allocated = allocated + %s, updated_at = %s "
    "WHERE product_id = %s AND node_id = %s AND on_hand - allocated - safety_stock - %s >= %s"
    " RETURNING " + ", ".join(_RETURNED)
)
_UNRESERVE_SQL = "UPDATE inventory_stocklevel SET allocated = allocated - %s WHERE id = %s"
_LEDGER_PG = (
    "INSERT INTO inventory_movement (stock_id, kind, on_hand_delta, allocated_delta, reason, ref_type, ref_id, "
    "actor_kind, actor_label, created_at, occurred_at) SELECT * FROM unnest(%s::bigint[], %s::varchar[], %s::int[], "
    "%s::int[], %s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[], %s::timestamptz[], "
    "%s::timestamptz[])"
)
_LEDGER_SQL = (
    "INSERT INTO inventory_movement (stock_id, kind, on_hand_delta, allocated_delta, reason, ref_type, ref_id, "
    "actor_kind, actor_label, created_at, occurred_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _failure(index: int, item: ReserveItem, stock_id: int | None) -> ReserveFailure:
    if item.quantity <= 0 or item.floor < 0:
        return ReserveFailure(
            index, item.product_id, item.node_id, item.quantity, 0, "invalid_quantity", "Quantity must be positive."
        )
    row = None
    if stock_id is not None:
        row = StockLevel.objects.filter(pk=stock_id).values("on_hand", "allocated", "safety_stock").first()
    if row is None:
        return ReserveFailure(
            index, item.product_id, item.node_id, item.quantity, 0, "no_stock", "The node holds no stock of this SKU."
        )
    free = stock_atp(StockLevel(**row))
    if free >= item.quantity:
        return ReserveFailure(
            index,
            item.product_id,
            item.node_id,
            item.quantity,
            max(free - item.floor, 0),
            "floor",
            f"Reserving {item.quantity} would leave fewer than the floor of {item.floor} units.",
        )
    return ReserveFailure(
        index, item.product_id, item.node_id, item.quantity, max(free - item.floor, 0), "insufficient_stock",
        f"Only {free} available, {item.quantity} requested.",
    )  # fmt: skip


def _reserve_rows(
    wanted: dict[tuple[int, int], tuple[int, int]], lines: list[tuple[int, int, int, Ref]], ledger: tuple, now: datetime
) -> dict[tuple[int, int], tuple]:
    """Add each {(product, node): (quantity, floor)} to `allocated` where it fits and, only when
    all fit, write an `allocation` ledger row per line (product, node, quantity, reference), with
    `ledger` = (reason, actor kind, actor label); return {(product, node): (id, on_hand,
    allocated, safety, threshold, low)} of the rows it took."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            keys = list(wanted)
            columns = [[k[0] for k in keys], [k[1] for k in keys], [wanted[k][0] for k in keys],
                       [wanted[k][1] for k in keys]]  # fmt: skip
            per_line = [[line[0] for line in lines], [line[1] for line in lines], [line[2] for line in lines],
                        [line[3].type for line in lines], [line[3].id for line in lines]]  # fmt: skip
            params = [now, *columns, Movement.Kind.ALLOCATION, *ledger, now, *per_line, len(keys)]
            cursor.execute(_RESERVE_PG, params)
            rows = cursor.fetchall()
        else:  # SQLite serialises writers: no lock order to keep
            rows = []
            for (product_id, node_id), (quantity, floor) in wanted.items():
                cursor.execute(_RESERVE_ONE_SQL, [quantity, now, product_id, node_id, floor, quantity])
                rows.extend(cursor.fetchall())
    taken = {(row[1], row[2]): (row[0], *row[3:]) for row in rows}
    if connection.vendor != "postgresql" and len(taken) == len(wanted):
        _ledger_insert(
            [(taken[(product_id, node_id)][0], Movement.Kind.ALLOCATION, 0, quantity, ledger[0], ref.type, ref.id,
              *ledger[1:], now, None) for product_id, node_id, quantity, ref in lines]
        )  # fmt: skip
    return taken


@retry_on_deadlock
@transaction.atomic(savepoint=False)  # a refusal writes nothing: no savepoint to roll back to
def stock_reserve(*, items: list[ReserveItem], reference: Ref, actor: Actor, reason: str = "") -> ReserveResult:
    """Reserve every line or none.

    One conditional UPDATE takes every line (`on_hand - allocated - safety_stock - floor >= qty`),
    locking the rows in ascending id. Should a line not fit, what the statement took is given back
    and the line is reported (`ReserveResult.failure`: its index, what was free, and why); nothing
    else was written, so no savepoint is needed. Each reserved line writes an `allocation` ledger
    row carrying its reference (the line's, else the call's), in the same statement on PostgreSQL.
    """
    for index, item in enumerate(items):
        if item.quantity <= 0 or item.floor < 0:
            return ReserveResult([], _failure(index, item, None))
    # Lines of the same (product, node) are taken together: their sum must fit above the floor.
    wanted: dict[tuple[int, int], tuple[int, int]] = {}
    for item in items:
        quantity, floor = wanted.get((item.product_id, item.node_id), (0, 0))
        wanted[(item.product_id, item.node_id)] = (quantity + item.quantity, max(floor, item.floor))
    now = timezone.now()
    lines = [(item.product_id, item.node_id, item.quantity, item.reference or reference) for item in items]
    taken = _reserve_rows(wanted, lines, (reason[:255], actor.kind, actor.label[:150]), now)
    if len(taken) < len(wanted):
        if taken:  # give back what the statement took (rows still locked by this transaction)
            with connection.cursor() as cursor:
                cursor.executemany(_UNRESERVE_SQL, [(wanted[key][0], row[0]) for key, row in taken.items()])
        index = next(i for i, item in enumerate(items) if (item.product_id, item.node_id) not in taken)
        item = items[index]
        found = StockLevel.objects.filter(product_id=item.product_id, node_id=item.node_id)
        return ReserveResult([], _failure(index, item, found.values_list("pk", flat=True).first()))
    reserved = [
        Reserved(index, product_id, node_id, taken[(product_id, node_id)][0], quantity, ref)
        for index, (product_id, node_id, quantity, ref) in enumerate(lines)
    ]
    for stock_id, on_hand, allocated, safety, threshold, low in taken.values():
        atp = stock_atp(StockLevel(on_hand=on_hand, allocated=allocated, safety_stock=safety))
        below = threshold is not None and atp < threshold
        if below != low:
            low_stock_check(stock=StockLevel.objects.select_related("product__merchant", "node").get(pk=stock_id))
    return ReserveResult(reserved, None)


@retry_on_deadlock
@transaction.atomic
def stock_unreserve(
    *, reference: Ref, actor: Actor, lines: list[StockLine] | None = None, reason: str = ""
) -> list[Released]:
    """Undo what `reference` reserved (per the ledger): all of it, or the given lines.

    A line's quantity caps what is released there (None releases all the reference holds).
    Releasing more than is held releases what is held; nothing held is not an error.
    """
    touched = set(
        Movement.objects.filter(ref_type=reference.type, ref_id=reference.id).values_list("stock_id", flat=True)
    )
    wanted: dict[tuple[int, int], int | None] | None = None
    if lines is not None:
        wanted = {(line.product_id, line.node_id): line.quantity for line in lines}
    rows = _lock_rows(touched)
    held = holdings(reference=reference, stock_ids=rows)
    released: list[Released] = []
    for stock_id, stock in rows.items():
        quantity = held.get(stock_id, 0)
        if wanted is not None:
            key = (stock.product_id, stock.node_id)
            if key not in wanted:
                continue
            cap = wanted[key]
            quantity = quantity if cap is None else min(quantity, cap)
        if quantity <= 0:
            continue
        _write(
            stock,
            [
                _movement(
                    stock, Movement.Kind.DEALLOCATION, actor=actor, allocated=-quantity, reason=reason,
                    reference=reference,
                )
            ],
        )  # fmt: skip
        low_stock_check(stock=stock)
        released.append(Released(stock.product_id, stock.node_id, stock_id, quantity, reference))
    return released


@retry_on_deadlock
@transaction.atomic
def stock_consume(*, reference: Ref, lines: list[StockLine], actor: Actor, reason: str = "") -> None:
    """Ship reserved units: on_hand and allocated both drop. Each line must be held by `reference`.

    Raise Conflict (nothing changes) when the reference holds fewer units than a line ships.
    """
    keys = {(line.product_id, line.node_id) for line in lines}
    ids = StockLevel.objects.filter(product_id__in={k[0] for k in keys}, node_id__in={k[1] for k in keys}).values_list(
        "pk", "product_id", "node_id"
    )
    by_key = {(p, n): pk for pk, p, n in ids if (p, n) in keys}
    rows = _lock_rows(by_key.values())
    held = holdings(reference=reference, stock_ids=rows)
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        stock_id = by_key.get((line.product_id, line.node_id))
        quantity = line.quantity or 0
        if stock_id is None or quantity <= 0 or held.get(stock_id, 0) < wanted[stock_id] + quantity:
            have = held.get(stock_id, 0) if stock_id else 0
            raise Conflict(
                f"{reference} holds {have} unit(s) of product {line.product_id} at node {line.node_id}; "
                f"cannot ship {quantity}.",
                field="quantity",
                code="not_reserved",
            )
        wanted[stock_id] += quantity
    for stock_id in sorted(wanted):
        stock, quantity = rows[stock_id], wanted[stock_id]
        _write(
            stock,
            [
                _movement(
                    stock, Movement.Kind.SHIPMENT, actor=actor, on_hand=-quantity, allocated=-quantity, reason=reason,
                    reference=reference,
                )
            ],
        )  # fmt: skip
        low_stock_check(stock=stock)


# --- receive / adjust / count / transfer -----------------------------------------------------


def _positive(quantity: int, name: str = "quantity") -> None:
    if quantity <= 0:
        raise InvalidInput([FieldError(name, "invalid", "Must be a positive integer.")])


@retry_on_deadlock
@transaction.atomic
def stock_receive(
    *,
    product: Product,
    node: Node,
    quantity: int,
    actor: Actor,
    reference: Ref | None = None,
    reason: str = "",
    kind: str = Movement.Kind.RECEIPT,
) -> StockLevel:
    """Add received (or, with kind=return_restock, restocked) units and emit inventory.received."""
    _positive(quantity)
    stock = stock_lock(product_id=product.pk, node_id=node.pk)
    assert stock is not None
    _write(stock, [_movement(stock, kind, actor=actor, on_hand=quantity, reason=reason, reference=reference)])
    low_stock_check(stock=stock)
    _emit_received(node, [(stock, quantity)], kind, reference)
    return stock


@retry_on_deadlock
@transaction.atomic
def stock_adjust(
    *,
    product: Product,
    node: Node,
    quantity: int,
    actor: Actor,
    reason: str,
    reference: Ref | None = None,
    kind: str = Movement.Kind.ADJUSTMENT,
) -> StockLevel:
    """Change on_hand by a signed quantity.

    Taking on_hand below what is reserved de-allocates the newest reservations first (a
    shortfall, see `inventory.shortfall`); taking it below zero is refused. A positive
    adjustment emits `inventory.received`.
    """
    if quantity == 0:
        raise InvalidInput([FieldError("quantity", "invalid", "Must not be zero.")])
    stock = stock_lock(product_id=product.pk, node_id=node.pk)
    assert stock is not None
    if stock.on_hand + quantity < 0:
        raise DomainError(
            f"{product.sku} at {node.code} has {stock.on_hand} on hand; cannot remove {-quantity}.",
            field="quantity",
            code="below_zero",
        )
    cause = f"{reason or kind} of {quantity:+} at {node.code}"
    movements = _cover_shortfall(stock, stock.on_hand + quantity, actor=actor, cause=cause)
    movements.append(_movement(stock, kind, actor=actor, on_hand=quantity, reason=reason, reference=reference))
    _write(stock, movements)
    low_stock_check(stock=stock)
    if quantity > 0:
        _emit_received(node, [(stock, quantity)], kind, reference)
    return stock


@dataclass
class CountResult:
    applied: int = 0  # rows whose on_hand changed
    unchanged: int = 0
    deallocated: int = 0  # reserved units released because a count came in below them
    shortfalls: list[dict[str, Any]] = field(default_factory=list)


def stock_counts_apply(
    *,
    node: Node,
    counts: list[tuple[Product, int]],
    actor: Actor,
    reference: Ref | None = None,
    as_of: datetime | None = None,
    reason: str = "count",
) -> CountResult:
    """Set on_hand at one node from physical counts: a `count_correction` movement per change.

    A count is what the node had at `as_of`: movements recorded after it are added on top.
    A count below what is reserved de-allocates the newest reservations first and emits
    `inventory.shortfall`. Set-based (a few queries for the whole list), so the snapshot job
    can apply thousands of rows per transaction; runs in the caller's transaction if any.
    """
    result = CountResult()
    if not counts:
        return result
    for product, counted in counts:
        if counted < 0:
            raise InvalidInput([FieldError("on_hand", "invalid", f"{product.sku}: a count cannot be negative.")])
    with transaction.atomic():
        product_ids = [p.pk for p, _ in counts]
        missing = set(product_ids) - set(
            StockLevel.objects.filter(node=node, product_id__in=product_ids).values_list("product_id", flat=True)
        )
        if missing:
            StockLevel.objects.bulk_create(
                [StockLevel(product_id=pk, node=node) for pk in missing], ignore_conflicts=True
            )
        # One node, so ascending id within it is the global lock order; no joins: the caller has both.
        locked = (
            StockLevel.objects.select_for_update(no_key=True)
            .filter(node=node, product_id__in=product_ids)
            .defer("updated_at")
            .order_by("pk")
        )
        rows = {row.product_id: row for row in locked}
        for row in rows.values():
            row.node = node
        later: dict[int, int] = {}
        if as_of is not None:
            later = dict(
                Movement.objects.filter(stock_id__in=[r.pk for r in rows.values()])
                # What happened after as_of: a movement's own time, else when it was recorded. A
                # snapshot's corrections carry its as_of, so a newer snapshot supersedes them.
                .filter(Q(occurred_at__gt=as_of) | Q(occurred_at__isnull=True, created_at__gt=as_of))
                .values("stock_id")
                .annotate(s=Sum("on_hand_delta"))
                .values_list("stock_id", "s")
            )
        movements: list[Movement] = []  # de-allocations of shortfalls (rare)
        ledger: list[tuple[Any, ...]] = []  # count corrections, as plain rows (thousands per call)
        ref_type, ref_id = (reference.type, reference.id) if reference else ("", "")
        note = (f"{reason} as of {as_of:%Y-%m-%d %H:%M:%S}" if as_of else reason)[:200]
        changed: list[StockLevel] = []
        received: list[tuple[StockLevel, int]] = []
        for product, counted in counts:
            stock = rows[product.pk]
            stock.product = product
            target = max(counted + (later.get(stock.pk) or 0), 0)
            delta = target - stock.on_hand
            if delta == 0:
                result.unchanged += 1
                continue
            if target < stock.allocated:
                cause = f"{reason}: counted {counted}, on hand becomes {target}"
                freed = _cover_shortfall(stock, target, actor=actor, cause=cause)
                movements += freed
                taken = -sum(m.allocated_delta for m in freed)
                result.deallocated += taken
                result.shortfalls.append({"sku": product.sku, "node": node.code, "deallocated": taken})
                stock.allocated -= taken
            ledger.append(
                (stock.pk, Movement.Kind.COUNT_CORRECTION, delta, 0, f"{note}: counted {counted}", ref_type, ref_id,
                 actor.kind, actor.label[:150], as_of)
            )  # fmt: skip
            stock.on_hand = target
            changed.append(stock)
            result.applied += 1
            if delta > 0:
                received.append((stock, delta))
        now = timezone.now()
        for stock in changed:
            stock.updated_at = now
        _set_stock(changed, now)
        ledger = [
            (m.stock_id, m.kind, m.on_hand_delta, m.allocated_delta, m.reason, m.ref_type, m.ref_id, m.actor_kind,
             m.actor_label, None)
            for m in movements
        ] + ledger  # fmt: skip
        _ledger_insert([(*row[:9], now, row[9]) for row in ledger])
        for stock in changed:
            if stock.reorder_threshold is not None or stock.low_stock:
                low_stock_check(stock=stock)
        if received:
            _emit_received(node, received, Movement.Kind.COUNT_CORRECTION, reference)
    return result


@retry_on_deadlock
@transaction.atomic
def stock_transfer(
    *,
    product: Product,
    from_node: Node,
    to_node: Node,
    quantity: int,
    actor: Actor,
    reference: Ref | None = None,
    reason: str = "",
) -> tuple[StockLevel, StockLevel]:
    """Move unreserved units from one node to another (transfer_out + transfer_in)."""
    _positive(quantity)
    if from_node.pk == to_node.pk:
        raise InvalidInput([FieldError("to_node", "invalid", "Source and destination are the same node.")])
    stock_lock(product_id=product.pk, node_id=to_node.pk)  # make sure it exists
    ids = StockLevel.objects.filter(product=product, node__in=[from_node, to_node]).values_list("pk", flat=True)
    rows = {row.node_id: row for row in _lock_rows(ids).values()}
    source, target = rows.get(from_node.pk), rows[to_node.pk]
    free = source.on_hand - source.allocated if source else 0
    if source is None or free < quantity:
        raise DomainError(
            f"{from_node.code} has {free} unreserved unit(s) of {product.sku}; cannot transfer {quantity}.",
            field="quantity",
            code="insufficient_stock",
        )
    note = reason or f"{from_node.code} -> {to_node.code}"
    _write(source, [_movement(source, Movement.Kind.TRANSFER_OUT, actor=actor, on_hand=-quantity, reason=note,
                              reference=reference)])  # fmt: skip
    _write(target, [_movement(target, Movement.Kind.TRANSFER_IN, actor=actor, on_hand=quantity, reason=note,
                              reference=reference)])  # fmt: skip
    low_stock_check(stock=source)
    low_stock_check(stock=target)
    _emit_received(to_node, [(target, quantity)], Movement.Kind.TRANSFER_IN, reference)
    return source, target


@transaction.atomic
def stock_settings_update(
    *,
    stock: StockLevel,
    actor: Actor,
    safety_stock: int | None = None,
    reorder_threshold: int | None | str = "keep",
    bin_location: str | None = None,
) -> StockLevel:
    """Change a row's safety stock, reorder threshold and/or bin (policy, not a ledger movement)."""
    locked = stock_lock(product_id=stock.product_id, node_id=stock.node_id)
    assert locked is not None
    if safety_stock is not None:
        if safety_stock < 0:
            raise InvalidInput([FieldError("safety_stock", "invalid", "Must not be negative.")])
        locked.safety_stock = safety_stock
    if reorder_threshold != "keep":
        locked.reorder_threshold = reorder_threshold  # type: ignore[assignment]
    if bin_location is not None:
        locked.bin_location = bin_location.strip().upper()
    StockLevel.objects.filter(pk=locked.pk).update(
        safety_stock=locked.safety_stock, reorder_threshold=locked.reorder_threshold,
        bin_location=locked.bin_location, updated_at=timezone.now(),
    )  # fmt: skip
    low_stock_check(stock=locked)
    return locked
