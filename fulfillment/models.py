"""Fulfilment orders: one per node per order, created by routing, worked by the node.

States (docs/STATE_MACHINES.md): created -> released -> accepted | rejected -> picked -> packed
-> shipped -> delivered; pick-up: packed -> ready_for_pickup -> picked_up; cancelled.
Routing (fulfillment/routing) creates them in `created`; fulfilment services add the rest.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from inventory.models import Node
from orders.models import Order, OrderLine


class FulfillmentStatus(models.TextChoices):
    CREATED = "created"
    RELEASED = "released"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    PICKED_UP = "picked_up"
    CANCELLED = "cancelled"


F = FulfillmentStatus
# Before the pick the node has done nothing physical: cancelling releases the reservation at once.
BEFORE_PICK = [F.CREATED, F.RELEASED, F.ACCEPTED]
# After the pick the units are off the shelf: a cancellation waits for the node to confirm it.
AFTER_PICK = [F.PICKED, F.PACKED, F.READY_FOR_PICKUP]
# A node is working on it (pick-delay and the node actions look at these).
AT_NODE = [F.RELEASED, F.ACCEPTED, F.PICKED, F.PACKED, F.READY_FOR_PICKUP]


class FulfillmentOrder(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillment_orders")
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="fulfillment_orders")
    status = FSMField(
        default=FulfillmentStatus.CREATED, choices=FulfillmentStatus.choices, protected=True, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Execution (fulfillment/execution): when each step happened.
    released_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    picked_at = models.DateTimeField(null=True, blank=True)
    packed_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    ready_for_pickup_at = models.DateTimeField(null=True, blank=True)
    picked_up_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="Rejected or cancelled at.")
    rejection_reason = models.TextField(blank=True)
    # A cancellation asked after the pick waits for the node to put the units back and confirm.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancel_request = models.JSONField(default=dict, blank=True, help_text='{"reason", "lines": {line id: qty}}')
    pack_attempts = models.PositiveSmallIntegerField(default=0)
    # Packing needed a rescan after a mismatch (feeds the order-accuracy KPI).
    pack_corrected = models.BooleanField(default=False)
    # Set when the pick-delay exception was raised: it is raised once per fulfilment order.
    pick_delay_alerted_at = models.DateTimeField(null=True, blank=True)
    # The routing decision that created it (fulfillment/routing).
    decision = models.ForeignKey(
        "fulfillment.RoutingDecision",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fulfillment_orders",
    )

    class Meta:
        ordering = ["order", "id"]
        indexes = [
            models.Index(fields=["node", "status"], name="fo_node_status"),
            models.Index(
                fields=["released_at"],
                name="fo_pick_delay_due",
                condition=models.Q(status__in=["released", "accepted", "picked"], pick_delay_alerted_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order.number}@{self.node.code}"

    # Transitions: field changes only; fulfillment.execution.services run them.

    @transition(field=status, source=F.CREATED, target=F.RELEASED)
    def release(self) -> None:
        self.released_at = timezone.now()

    @transition(field=status, source=F.RELEASED, target=F.ACCEPTED, custom={"admin": True, "label": "Accept"})
    def accept(self) -> None:
        self.accepted_at = timezone.now()

    @transition(field=status, source=[F.RELEASED, F.ACCEPTED], target=F.REJECTED)
    def reject(self) -> None:
        self.closed_at = timezone.now()

    @transition(field=status, source=F.ACCEPTED, target=F.PICKED)
    def pick(self) -> None:
        self.picked_at = timezone.now()

    @transition(field=status, source=F.PICKED, target=F.PACKED)
    def pack(self) -> None:
        self.packed_at = timezone.now()

    @transition(field=status, source=F.PACKED, target=F.SHIPPED)
    def ship(self) -> None:
        self.shipped_at = timezone.now()

    @transition(field=status, source=F.SHIPPED, target=F.DELIVERED)
    def deliver(self) -> None:
        pass

    @transition(field=status, source=F.PACKED, target=F.READY_FOR_PICKUP)
    def await_pickup(self) -> None:
        self.ready_for_pickup_at = timezone.now()

    @transition(field=status, source=F.READY_FOR_PICKUP, target=F.PICKED_UP)
    def collect(self) -> None:
        self.picked_up_at = timezone.now()

    @transition(field=status, source=[*BEFORE_PICK, *AFTER_PICK], target=F.CANCELLED)
    def cancel(self) -> None:
        self.closed_at = timezone.now()
        self.cancel_requested_at = None

    @property
    def is_pickup(self) -> bool:
        return self.order.fulfillment_type == "pickup"


class FulfillmentOrderLine(models.Model):
    fulfillment_order = models.ForeignKey(FulfillmentOrder, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.CASCADE, related_name="fulfillment_lines")
    quantity = models.PositiveIntegerField(help_text="Allocated to this node")
    qty_picked = models.PositiveIntegerField(default=0)
    qty_shipped = models.PositiveIntegerField(default=0)
    qty_cancelled = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["fulfillment_order", "order_line__position"]

    def __str__(self) -> str:
        return f"{self.order_line.sku} × {self.quantity}"

    @property
    def qty_open(self) -> int:
        """Units still to fulfil here: allocated, not cancelled, not shipped."""
        return self.quantity - self.qty_cancelled - self.qty_shipped

    @property
    def qty_to_ship(self) -> int:
        """Picked units not yet shipped (what packing verifies and shipping sends); a cancellation
        after the pick takes its units off `qty_picked`."""
        return max(self.qty_picked - self.qty_shipped, 0)


# Models of the execution, carriers and tracking sub-packages (same app).
from fulfillment.carriers.models import *  # noqa: E402, F403
from fulfillment.execution.models import *  # noqa: E402, F403
from fulfillment.routing.models import *  # noqa: E402, F403
from fulfillment.tracking.models import *  # noqa: E402, F403
