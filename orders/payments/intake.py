"""What happens to a freshly validated order, in order: fraud screening runs (before any
capture; the capture service has already recorded the channel's payments), the declared tax is
checked, and after commit the job applies the payment rule (ready, or capture first)."""

from __future__ import annotations

from typing import NamedTuple

from oms.actors import Actor
from oms.outbox import enqueue_after_commit
from orders.fraud.models import FraudDecision
from orders.fraud.services import order_fraud_screen
from orders.models import Order
from orders.tax.services import order_tax_check


class Screened(NamedTuple):
    decision: FraudDecision | None  # None: the merchant screens no orders
    proceeds: bool  # neither held nor cancelled here: the payment rule comes next


def order_after_validation(*, order: Order, actor: Actor, held: bool = False) -> Screened:
    """The capture service's hook, inside its transaction; `held` says whether capture already
    put the order on hold (e.g. an address hold)."""
    from orders.tasks import order_chain

    decision = order_fraud_screen(order=order, actor=actor)
    if decision is not None and decision.outcome == FraudDecision.Outcome.REJECT:
        return Screened(decision, proceeds=False)
    held = held or (decision is not None and decision.outcome == FraudDecision.Outcome.REVIEW)
    tax = order_tax_check(order=order, actor=actor)
    held = held or bool(tax and tax["held"])
    if not held:
        # The chain wakes the relay when it ends: one relay run for the capture's events and
        # the chain's, instead of one each.
        enqueue_after_commit(order_chain, order.pk, "", order.status, wakes_relay=True)
    return Screened(decision, proceeds=not held)
