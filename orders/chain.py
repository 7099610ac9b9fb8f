"""The order chain: the steps after capture — payment rule, allocation, release — run one after
another in one worker pick-up.

Each step is a service in its own transaction that moves the status with a compare-and-set
(it locks the order and checks its status), so a crash between two steps leaves the order at
the step it reached, and the next run resumes there. The chain stops where a step did not move
the order: the business waits there (a remorse period, a capture at release, a backorder, a
hold, the gateway). Orders knows only its own step; the steps further along (allocation,
release) are hooks that fulfillment registers in its AppConfig.ready(), so orders never
imports fulfillment.

One sweeper (`order_chains_due`, a beat job) asks each step for the orders whose step is due
and was not taken (a lost job, a broker outage, a remorse period that ended) and runs their
chains.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from oms.actors import Actor
from oms.outbox import wakes_held
from orders.models import Order

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    name: str
    # Run the step for the order and return the status it reached if it knows it (saves a
    # read); `trigger` says why ("" in a chain, "sweep", "hold_resolved"), `actor` who asked
    # (None: the step's job), `now` the sweeper's clock (None: the real one).
    run: Callable[[int, str, Actor | None, datetime | None], str | None]
    # The ids of orders whose step is due and was not taken (the sweeper's question).
    due: Callable[[datetime], Iterable[int]]
    # Optional: take the due orders itself, in a batch that claims them (SKIP LOCKED) and loads
    # what they share once; return the ids it took. Without it the sweeper runs `run` per order.
    run_due: Callable[[datetime], Iterable[int]] | None = None


_steps: dict[str, Step] = {}
MAX_STEPS = 6


def chain_step_register(*, statuses: Iterable[str], step: Step) -> None:
    """Make `step` the next step of an order in any of `statuses`."""
    for status in statuses:
        _steps[status] = step


def _status(order_id: int) -> str | None:
    return Order.objects.filter(pk=order_id).values_list("status", flat=True).first()


def order_chain_run(
    *, order_id: int, trigger: str = "", actor: Actor | None = None, status: str = "", wake_relay: bool = False
) -> None:
    """Run the order's steps one after another until one leaves it where it was; the relay is
    woken once at the end for the events of all the steps, not after each step's commit.

    `status` is the status the caller committed the order in, when it knows it: it saves a read.
    A stale one costs nothing in correctness: the step it picks checks the status under its lock
    and does nothing on another, and the chain goes on from the status it then finds.
    `wake_relay`: wake it even if no step moved (the capture handed its own wake-up over)."""
    with wakes_held(owed=wake_relay):
        _run(order_id, trigger, actor, status or _status(order_id))


def _run(order_id: int, trigger: str, actor: Actor | None, status: str | None) -> None:
    previous = None
    for _ in range(MAX_STEPS):
        step = _steps.get(status or "")
        # A step that left the order in a state it serves itself (backordered after an
        # allocation, released after a release) has done what it could now.
        if step is None or step is previous:
            return
        after = step.run(order_id, trigger, actor, None) or _status(order_id)
        if after == status:
            return
        status, previous, trigger, actor = after, step, "", None


def order_chains_due(*, now: datetime | None = None) -> int:
    """Beat job: take every due step that was not taken, then go on along the chain; return
    how many orders it moved on."""
    now = now or timezone.now()
    seen: set[int] = set()
    for step in dict.fromkeys(_steps.values()):
        if step.run_due is not None:
            for order_id in step.run_due(now):
                if order_id not in seen:
                    seen.add(order_id)
                    _chain_on(order_id, step)
            continue
        for order_id in step.due(now):
            if order_id in seen:
                continue
            seen.add(order_id)
            try:
                step.run(order_id, "sweep", None, now)
                order_chain_run(order_id=order_id)
            except Exception:  # one broken order must not stop the sweep of the others
                logger.exception("the chain of order %s failed at %s", order_id, step.name)
    return len(seen)


def _chain_on(order_id: int, step: Step) -> None:
    try:
        order_chain_run(order_id=order_id)
    except Exception:  # one broken order must not stop the sweep of the others
        logger.exception("the chain of order %s failed after %s", order_id, step.name)
