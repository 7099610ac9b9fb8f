"""Allocation: plan, reserve, write the fulfilment orders and the decision, move the order.

Concurrency (docs/ROUTING.md):
- The order row is locked first, so one order is routed by one worker at a time; a second
  worker (or a redelivered job) then finds nothing left to place and changes nothing.
- Stock is taken only through `inventory.services.stock_reserve` (one conditional UPDATE for
  all lines). Planning reads stock without locks, so another order may take it between scoring
  and reserving: the reservation then fails as a whole and the order is planned again on fresh
  stock, at most MAX_REPLANS times. Nothing is ever oversold. A failed attempt must not keep the
  rows it locked while the next one locks others (that would break the lock order): the chain's
  job (`order_allocate`) rolls its whole transaction back and starts again, so its usual,
  successful path needs no savepoint; a caller inside a larger transaction gets a savepoint per
  attempt instead.
- Lock order: order row -> node daily-load rows (node id order) -> stock rows (stock id order,
  inside stock_reserve). Every path that takes more than one of these follows it.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from fulfillment.models import FulfillmentOrder, FulfillmentOrderLine
from fulfillment.routing.costs import estimator_for
from fulfillment.routing.models import Backorder, RoutingDecision
from fulfillment.routing.planner import Network, Plan, _zone, plan_order
from fulfillment.routing.selectors import network_for, open_quantities, order_info, policy_current
from fulfillment.routing.services.backorder_alerts import backorder_alert_unfilled, backorder_alerts_clear
from inventory.services import ReserveItem, stock_reserve
from oms.actors import Actor
from oms.caches import caches_check
from oms.outbox import enqueue_after_commit
from oms.payloads import order_payload
from oms.refs import Ref
from orders.models import Hold, Order, OrderLine, OrderStatus
from orders.services.holds import hold_place
from orders.services.quantities import order_lines_allocate
from orders.services.status import order_status_reconcile
from orders.services.timeline import Pending, timeline_entry
from orders.tasks import order_chain

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("routing")
MAX_REPLANS = 3
# Order states in which routing may place open quantities.
# Triggers under which the order's chain itself runs the allocation (and goes on to release).
CHAIN_TRIGGERS = {"ready", "hold_resolved", "sweep"}
ALLOCATABLE = [
    OrderStatus.READY,
    OrderStatus.ALLOCATED,
    OrderStatus.PARTIALLY_ALLOCATED,
    OrderStatus.BACKORDERED,
    OrderStatus.RELEASED,
    OrderStatus.PARTIALLY_SHIPPED,
]
# Backorders are retried on receipt of stock at once; otherwise after this, doubling, up to the cap.
RETRY_FIRST = timedelta(minutes=15)
RETRY_CAP = timedelta(hours=12)


class _Lost(Exception):
    """Another order took the stock (or the node's last slot today) between planning and reserving."""

    def __init__(self, record: dict[str, Any]) -> None:
        super().__init__(record.get("message", "lost"))
        self.record = record


def order_lock(order_id: int) -> Order:
    """The order under its row lock, with its channel (routing's channel rules). Its merchant and
    pick-up store are read only where routing needs them (a backorder alert, a pick-up order
    without an address): joining them cost every allocation more than reading them costs those."""
    return Order.objects.select_for_update(of=("self",)).select_related("channel").get(pk=order_id)


# The day's row is created with this order's slot, or its count goes up while under capacity:
# one statement, and the row lock it takes serialises the node's last slot.
_LOAD_TAKE = """
    INSERT INTO fulfillment_nodedailyload (node_id, day, orders) VALUES (%s, %s, 1)
    ON CONFLICT (node_id, day) DO UPDATE SET orders = fulfillment_nodedailyload.orders + 1
    WHERE fulfillment_nodedailyload.orders < %s
    RETURNING orders
"""


def _load_take(node_id: int, day: date, capacity: int) -> bool:
    if capacity <= 0:
        return False
    with connection.cursor() as cursor:
        cursor.execute(_LOAD_TAKE, [node_id, day, capacity])
        return cursor.fetchone() is not None


def _claim_capacity(plan: Plan, network: Network, now: datetime) -> None:
    nodes = {n.id: n for n in network.nodes}
    capped = sorted({a.node_id for a in plan.allocations if nodes[a.node_id].daily_capacity is not None})
    for node_id in capped:  # node id order: the lock order of load rows
        node = nodes[node_id]
        day = now.astimezone(_zone(node.time_zone)).date()
        if not _load_take(node_id, day, node.daily_capacity):
            raise _Lost({"node": node.code, "code": "capacity", "message": f"{node.code} filled its last slot today"})


def _reserve(
    order: Order, plan: Plan, network: Network, decision: RoutingDecision, now: datetime, actor: Actor
) -> list[FulfillmentOrder]:
    """Create the fulfilment orders and reserve their stock; raise _Lost when the stock is gone."""
    _claim_capacity(plan, network, now)
    node_ids = list(dict.fromkeys(a.node_id for a in plan.allocations))
    fos = FulfillmentOrder.objects.bulk_create(
        [FulfillmentOrder(order=order, node_id=node_id, decision=decision) for node_id in node_ids]
    )
    fo_of = {fo.node_id: fo for fo in fos}
    FulfillmentOrderLine.objects.bulk_create(
        [
            FulfillmentOrderLine(fulfillment_order=fo_of[a.node_id], order_line_id=a.line_id, quantity=a.quantity)
            for a in plan.allocations
        ]
    )
    # One reservation reference per fulfilment order (fulfillment.execution.common.reservation_ref):
    # shipping consumes and cancellation releases under it.
    items = [
        ReserveItem(a.product_id, a.node_id, a.quantity, floor=a.floor, reference=Ref.to(fo_of[a.node_id]))
        for a in plan.allocations
    ]
    result = stock_reserve(items=items, reference=Ref.to(order), actor=actor, reason=f"routing {order.number}")
    if not result.ok:
        failure = result.failure
        assert failure is not None
        allocation = plan.allocations[failure.index]
        raise _Lost(
            {
                "node": allocation.node_code,
                "sku": allocation.sku,
                "code": failure.code,
                "message": f"{allocation.node_code} no longer had {allocation.quantity} × {allocation.sku} "
                f"({failure.message})",
            }
        )
    return fos


def _gave_up(plan: Plan, races: list[dict[str, Any]]) -> Plan:
    """Every attempt lost its stock to other orders: place nothing now, retry shortly."""
    lines = {line["line"]: line for line in plan.details.get("lines", [])}
    unallocated = {line_id: line["quantity"] for line_id, line in lines.items()}
    details = {**plan.details, "plan": [], "gave_up": True}
    for line in details.get("lines", []):
        line["allocated"], line["unallocated"] = [], line["quantity"]
    explanation = (
        f"Nothing allocated: other orders took the planned stock {len(races)} times in a row "
        f"(last: {races[-1]['message']}); retrying shortly."
    )
    return replace(
        plan, allocations=[], unallocated=unallocated, shipments=0, estimated_cost=Decimal(0), hold=False,
        failure_action="backorder", details=details, explanation=explanation, promise_met=None,
        mean_distance_km=None,
    )  # fmt: skip


def _backorder_next(
    order: Order, plan: Plan, any_backordered: bool, now: datetime, gave_up: bool, first_run: bool
) -> None:
    if not any_backordered:
        if not first_run:  # a ready order has never waited: there is nothing to drop
            Backorder.objects.filter(order=order).delete()
            backorder_alerts_clear(order=order, actor=SYSTEM, note="Units allocated")
        return
    existing = Backorder.objects.filter(order=order).first()
    attempts = existing.attempts + 1 if existing else 1
    wait = timedelta(seconds=30) if gave_up else min(RETRY_FIRST * 2 ** (attempts - 1), RETRY_CAP)
    cancel_at = existing.cancel_at if existing else None
    if plan.failure_action == "cancel_after_days" and plan.failure_days and cancel_at is None:
        cancel_at = now + timedelta(days=plan.failure_days)
    Backorder.objects.update_or_create(
        order=order, defaults={"attempts": attempts, "next_attempt_at": now + wait, "cancel_at": cancel_at}
    )


@dataclass(frozen=True)
class _Settled:
    """What a plan does to the order: units placed per line, what stays open, the hold."""

    placed: dict[int, int]
    backordered: int
    outcome: str
    hold_reason: str


def _settle(
    order: Order, plan: Plan, lines: list[OrderLine], quantities: dict[int, int], hold_unfilled: str
) -> _Settled:
    placed: dict[int, int] = defaultdict(int)
    for a in plan.allocations:
        placed[a.line_id] += a.quantity
    backordered = sum(quantities[line.pk] - placed[line.pk] for line in lines)
    hold_reason = hold_unfilled if backordered and hold_unfilled else plan.explanation if plan.hold else ""
    if hold_reason:
        outcome = RoutingDecision.Outcome.HELD
    elif not backordered:
        outcome = RoutingDecision.Outcome.ALLOCATED
    elif any(line.qty_allocated + placed[line.pk] for line in lines):
        outcome = RoutingDecision.Outcome.PARTIALLY_ALLOCATED
    else:
        outcome = RoutingDecision.Outcome.BACKORDERED
    if order.promise_date is None and plan.promise_date is not None and plan.allocations:
        plan.details["promise_date_computed"] = plan.promise_date.isoformat()
    else:  # (a plan given up after lost races keeps its details)
        plan.details.pop("promise_date_computed", None)
    return _Settled(placed, backordered, outcome, hold_reason)


def _decision_write(
    decision: RoutingDecision | None, order: Order, plan: Plan, settled: _Settled, *, trigger: str,
    version_id: int | None, policy_label: str, races: int, started: float,
) -> RoutingDecision:  # fmt: skip
    """Insert the decision as the plan stands; update it only when a later plan replaced it."""
    fields = {
        "strategy": plan.strategy[:100], "outcome": settled.outcome, "explanation": plan.explanation,
        "details": plan.details, "shipments": plan.shipments, "estimated_cost": plan.estimated_cost,
        "promise_met": plan.promise_met, "mean_distance_km": plan.mean_distance_km, "nodes": plan.node_codes,
        "races_lost": races, "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }  # fmt: skip
    if decision is None:
        return RoutingDecision.objects.create(
            order=order, trigger=trigger, policy_version_id=version_id, policy_label=policy_label, **fields
        )
    for name, value in fields.items():
        setattr(decision, name, value)
    decision.save(update_fields=list(fields))
    return decision


def allocate_locked(
    *,
    order: Order,
    actor: Actor,
    trigger: str,
    now: datetime | None = None,
    hold_unfilled: str = "",
    races: list[dict[str, Any]] | None = None,
) -> RoutingDecision | None:
    """Route the open quantities of an order the caller has locked (order_lock).

    Return the decision, or None when there was nothing to do (not routable now, or nothing
    open): running it twice changes nothing the second time. `hold_unfilled` holds the order
    with that reason when units remain unplaced, whatever the policy says (a stock shortfall).

    `races`: given by a caller that retries its whole transaction on a lost race (_Lost is
    raised, the list records it), else each attempt runs under a savepoint.
    """
    started = time.perf_counter()
    if order.status not in ALLOCATABLE:
        return None
    lines = list(OrderLine.objects.filter(order=order).select_related("product").order_by("position"))
    quantities = open_quantities(lines)
    if not any(quantities.values()):
        # A released order whose parts all went to nodes stays released: its lines say
        # "allocated", but release is a step of the flow that the quantities do not record.
        if order.status != OrderStatus.RELEASED:
            order_status_reconcile(order, lines, actor=actor, reason="Nothing left to route")
        Backorder.objects.filter(order=order).delete()
        backorder_alerts_clear(order=order, actor=actor, note="Nothing left to route")
        return None
    now = now or timezone.now()
    # A ready order was never sent to a node: none can have rejected it, and it never waited.
    first_run = order.status == OrderStatus.READY
    version_id, policy = policy_current(merchant_id=order.merchant_id)
    info = order_info(order, lines, quantities)
    estimator = estimator_for(order.merchant_id)
    products = [line.product_id for line in lines]
    write = partial(_decision_write, trigger=trigger, version_id=version_id, policy_label=policy.label, started=started)
    retried = races is not None
    races = races if races is not None else []
    fos: list[FulfillmentOrder] = []
    decision: RoutingDecision | None = None
    plan: Plan | None = None
    for attempt in range(len(races), MAX_REPLANS + 1):
        network = network_for(
            merchant=order.merchant_id,
            product_ids=products,
            now=now,
            order_id=order.pk,
            channel_id=order.channel_id,
            exclusions=not first_run,  # fmt: skip
        )
        plan = plan_order(info, network, policy, now=now, estimator=estimator)
        if not plan.allocations:
            break
        # The fulfilment orders point at the decision: write it first, as this plan settles it.
        decision = write(decision, order, plan, _settle(order, plan, lines, quantities, hold_unfilled), races=0)
        try:
            with nullcontext() if retried and attempt < MAX_REPLANS else transaction.atomic():
                fos = _reserve(order, plan, network, decision, now, actor)
            break
        except _Lost as lost:
            races.append(lost.record)
            logger.info("order %s lost a race: %s; planning again", order.number, lost.record["message"])
            if retried and attempt < MAX_REPLANS:
                raise
    else:
        assert plan is not None
        plan = _gave_up(plan, races)
    assert plan is not None
    if races:
        plan.details["races"] = races
    settled = _settle(order, plan, lines, quantities, hold_unfilled)
    if decision is None or races:
        decision = write(decision, order, plan, settled, races=len(races))
    order_lines_allocate(lines=lines, placed=settled.placed, open_quantities=quantities)
    backordered = settled.backordered
    computed_promise = "promise_date_computed" in plan.details and order.promise_date is None
    if computed_promise:
        order.promise_date = plan.promise_date
    payload = {"decision": decision.pk}
    # The transition's timeline row and the events go in one statement at the end (Pending).
    pending = Pending(order.merchant_id)
    moved = order_status_reconcile(order, lines, actor=actor, reason=plan.explanation, payload=payload, pending=pending)
    if not moved:
        if computed_promise:
            order.save(update_fields=["promise_date", "updated_at"])
        pending.rows.append(timeline_entry(order, "route", actor=actor, reason=plan.explanation, payload=payload))
    if plan.allocations:
        allocations = [{"node": a.node_code, "sku": a.sku, "line": a.line_id, "quantity": a.quantity}
                       for a in plan.allocations]  # fmt: skip
        allocated = order_payload(
            order, allocations=allocations, fulfillment_orders=[fo.pk for fo in fos], decision=decision.pk,
            order_id=order.pk,
        )  # fmt: skip
        pending.events.append(("order.allocated", order, allocated))
        if backordered:
            # Merchants' webhooks rely on order.allocated for both cases; this one says which.
            pending.events.append(("order.partially_allocated", order, allocated))
    if backordered:
        lines_open = [{"line": line.pk, "sku": line.sku, "quantity": line.qty_backordered} for line in lines
                      if line.qty_backordered]  # fmt: skip
        pending.events.append(
            ("order.backordered", order, order_payload(order, decision=decision.pk, lines=lines_open))
        )
    pending.write()
    _backorder_next(order, plan, bool(backordered), now, bool(plan.details.get("gave_up")), first_run)
    if plan.allocations and trigger not in CHAIN_TRIGGERS:
        # Routed outside the order's chain (stock arrived, a node rejected, a re-route): the
        # chain goes on from here after commit (release what may go).
        enqueue_after_commit(order_chain, order.pk)
    if backordered and not settled.hold_reason:  # a hold raises its own exception
        backorder_alert_unfilled(order=order, lines=lines, explanation=plan.explanation)
    if settled.hold_reason:
        details: dict[str, Any] = {"decision": decision.pk}
        if plan.details.get("alternatives"):
            details["alternatives"] = plan.details["alternatives"]
        hold_place(order=order, type=Hold.Type.INVENTORY, reason=settled.hold_reason, actor=actor, details=details)
    return decision


def _allocate(lock: Callable[[], Order | None], actor: Actor, trigger: str) -> RoutingDecision | None:
    """Allocate the order `lock` locks, in a transaction of its own, started again (with the
    race remembered) when it lost its stock to another order: the rollback drops what the
    attempt locked."""
    races: list[dict[str, Any]] = []
    while True:
        try:
            with transaction.atomic():
                order = lock()
                if order is None:
                    return None
                return allocate_locked(order=order, actor=actor, trigger=trigger, races=races)
        except _Lost:
            continue


def order_allocate(*, order_id: int, actor: Actor = SYSTEM, trigger: str = "ready") -> RoutingDecision | None:
    """Route whatever the order still needs (the order chain's step; safe to run again)."""
    return _allocate(partial(order_lock, order_id), actor, trigger)


def _claim_ready(claimed: list[int], older_than: datetime | None, skip: list[int]) -> Order | None:
    """The oldest ready order no other worker holds (SKIP LOCKED), locked as order_lock does and
    recorded in `claimed`; once claimed, that same order again (a retry after a lost race)."""
    if claimed:
        return order_lock(claimed[0])
    ready = Order.objects.filter(status=OrderStatus.READY).exclude(pk__in=skip)
    if older_than is not None:
        ready = ready.filter(updated_at__lt=older_than)
    order = (
        ready.select_for_update(of=("self",), skip_locked=True)
        .select_related("channel")
        .order_by("placed_at", "pk")
        .first()
    )
    if order is not None:
        claimed.append(order.pk)
    return order


def orders_allocate_ready(
    *, size: int = 50, older_than: datetime | None = None, actor: Actor = SYSTEM, trigger: str = "ready"
) -> list[int]:
    """Allocate up to `size` ready orders (only those untouched since `older_than`, if given);
    return the ids of the orders it took.

    Each order is claimed with FOR UPDATE SKIP LOCKED, so workers running this at once (or an
    order's own chain job) never wait on one another's orders, and is allocated in its own
    transaction. What orders share is loaded once for the batch: the process caches are checked
    once at the start (one query), then the policy version, the nodes, the SKU flags and the
    carrier rate cards come from them for every order of the batch.
    """
    caches_check(force=True)
    done: list[int] = []
    for _ in range(size):
        claimed: list[int] = []
        try:
            _allocate(partial(_claim_ready, claimed, older_than, done), actor, trigger)
        except Exception:  # one broken order must not stop the batch
            logger.exception("allocating order %s failed", claimed[0] if claimed else "?")
            if not claimed:
                raise
        if not claimed:
            break
        done.append(claimed[0])
    return done


@dataclass(frozen=True)
class Preview:
    plan: Plan
    policy_label: str


def order_route_preview(*, order: Order, now: datetime | None = None) -> Preview:
    """Plan the order as routing would now, reserving nothing (the admin and tests read it)."""
    lines = list(order.lines.select_related("product"))
    quantities = open_quantities(lines)
    now = now or timezone.now()
    _, policy = policy_current(merchant_id=order.merchant_id)
    network = network_for(
        merchant=order.merchant_id,
        product_ids=[line.product_id for line in lines],
        now=now,
        order_id=order.pk,
        channel_id=order.channel_id,
    )
    plan = plan_order(
        order_info(order, lines, quantities), network, policy, now=now, estimator=estimator_for(order.merchant_id)
    )
    return Preview(plan, policy.label)
