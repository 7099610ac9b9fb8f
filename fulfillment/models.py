"""Fulfilment orders: one per node per order, created by routing, worked by the node.

States (docs/STATE_MACHINES.md): created -> released -> accepted | rejected -> picked -> packed
-> shipped -> delivered; pick-up: packed -> ready_for_pickup -> picked_up; cancelled.
Routing (fulfillment/routing) creates them in `created`; fulfilment services add the rest.
"""

from __future__ import annotations

from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField

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


class FulfillmentOrder(ConcurrentTransitionMixin, models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="fulfillment_orders")
    node = models.ForeignKey(Node, on_delete=models.PROTECT, related_name="fulfillment_orders")
    status = FSMField(
        default=FulfillmentStatus.CREATED, choices=FulfillmentStatus.choices, protected=True, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["order", "id"]
        indexes = [models.Index(fields=["node", "status"], name="fo_node_status")]

    def __str__(self) -> str:
        return f"{self.order.number}@{self.node.code}"


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
