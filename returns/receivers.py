"""Outbox consumers of the returns app."""

from __future__ import annotations

from oms.models import OutboxEvent
from oms.outbox import consumer
from orders.payments.models import Refund
from returns.models import Return, ReturnStatus
from returns.services.common import SYSTEM
from returns.services.refunds import return_complete


@consumer("returns.refund_completes_return", "refund.issued")
def refund_completes_return(event: OutboxEvent) -> None:
    """A return's refund that was still pending at the gateway has gone through: close the return."""
    refund = Refund.objects.filter(pk=(event.payload or {}).get("refund")).first()
    rma = Return.objects.filter(refund=refund, status=ReturnStatus.INSPECTED).first() if refund else None
    if rma is not None:
        return_complete(rma=rma, refund=refund, actor=SYSTEM)
