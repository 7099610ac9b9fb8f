"""What happens to a freshly validated order, in order: the channel's payments are recorded,
fraud screening runs (before any capture), the declared tax is checked, and after commit the
job applies the payment rule (ready, or capture first)."""

from __future__ import annotations

from oms.actors import Actor
from oms.outbox import enqueue_after_commit
from orders.fraud.models import FraudDecision
from orders.fraud.services import order_fraud_screen
from orders.models import Order
from orders.payments.services import payments_record_at_capture
from orders.tax.services import order_tax_check


def order_after_validation(*, order: Order, actor: Actor, held: bool = False) -> None:
    """The capture service's hook, inside its transaction; `held` says whether capture already
    put the order on hold (e.g. an address hold)."""
    from orders.tasks import order_chain

    payments_record_at_capture(order=order, payments=list(order.payments.all()), actor=actor)
    decision = order_fraud_screen(order=order, actor=actor)
    if decision is not None and decision.outcome == FraudDecision.Outcome.REJECT:
        return
    held = held or (decision is not None and decision.outcome == FraudDecision.Outcome.REVIEW)
    tax = order_tax_check(order=order, actor=actor)
    if not held and not (tax and tax["held"]):
        enqueue_after_commit(order_chain, order.pk)
