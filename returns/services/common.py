"""What the returns services share: settings, locks, the node and carrier of a return."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q

from fulfillment.carriers.models import Carrier
from inventory.models import Node
from oms.actors import Actor
from oms.errors import DomainError
from orders.validation import currency_precision
from returns.models import Return, ReturnSettings

SYSTEM = Actor.system("returns")


def settings_for(merchant_id: int) -> ReturnSettings:
    return ReturnSettings.objects.filter(merchant_id=merchant_id).first() or ReturnSettings(merchant_id=merchant_id)


def return_lock(rma: Return) -> Return:
    """Re-read the return under a row lock (after its order's lock, the one lock order)."""
    return Return.objects.select_for_update(of=("self",)).select_related("order", "node", "merchant").get(pk=rma.pk)


def cents(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_precision(currency)), ROUND_HALF_UP)


def merchant_nodes(merchant_id: int):  # type: ignore[no-untyped-def]
    return Node.objects.filter(Q(merchants__id=merchant_id) | Q(owner_id=merchant_id), active=True).distinct()


def receiving_node(merchant_id: int, code: str | None, *, field: str) -> Node:
    """The store named for a BORIS return, or the merchant's returns centre for a shipped one."""
    if code:
        node = merchant_nodes(merchant_id).filter(code=code).first()
        if node is None:
            raise DomainError(f"No active node {code} of yours.", field=field, code="unknown_node")
        if not node.can(Node.Capability.RECEIVE_RETURNS):
            raise DomainError(f"{code} does not take returns (no receive_returns).", field=field, code="no_returns")
        return node
    configured = settings_for(merchant_id).return_node
    if configured is not None:
        return configured
    takers = [node for node in merchant_nodes(merchant_id) if node.can(Node.Capability.RECEIVE_RETURNS)]
    # Parcels go to a distribution centre before a store.
    takers.sort(key=lambda node: (node.type != Node.Type.DC, node.priority, node.code))
    if takers:
        return takers[0]
    raise DomainError("No node of yours takes returns (receive_returns).", field=field, code="no_returns_node")


def return_carrier(merchant_id: int) -> Carrier:
    configured = settings_for(merchant_id).return_carrier
    carrier = configured or Carrier.objects.filter(active=True).order_by("pk").first()
    if carrier is None:
        raise DomainError("No carrier is set up for return labels.", field="method", code="no_carrier")
    return carrier
