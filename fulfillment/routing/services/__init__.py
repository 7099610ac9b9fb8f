"""Routing services: allocation, re-routing, backorders, policy versions."""

from fulfillment.routing.services.allocation import (
    ALLOCATABLE,
    allocate_locked,
    order_allocate,
    order_route_preview,
    orders_allocate_ready,
)
from fulfillment.routing.services.backorder_alerts import backorders_age_detect
from fulfillment.routing.services.backorders import (
    backorders_expire,
    backorders_mark_due,
    backorders_retry_due,
    orders_allocation_due,
)
from fulfillment.routing.services.policies import policy_create, policy_version_create
from fulfillment.routing.services.reroute import (
    ROUTING_INPUTS,
    fulfillment_order_reject,
    order_reroute_after_amendment,
    order_route_again,
    shortfall_reroute,
    units_returned_reroute,
)

__all__ = [
    "ALLOCATABLE",
    "ROUTING_INPUTS",
    "allocate_locked",
    "backorders_age_detect",
    "backorders_expire",
    "backorders_mark_due",
    "backorders_retry_due",
    "fulfillment_order_reject",
    "order_allocate",
    "order_reroute_after_amendment",
    "order_route_again",
    "order_route_preview",
    "orders_allocate_ready",
    "policy_create",
    "orders_allocation_due",
    "policy_version_create",
    "shortfall_reroute",
    "units_returned_reroute",
]
