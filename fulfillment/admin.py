"""Fulfilment's admin: the execution side lives in admin_fulfillment.py (Warehouse queue, pack
form, shipments, carriers); routing registers its own pages here too."""

from fulfillment import admin_fulfillment  # noqa: F401
from fulfillment.routing import admin as routing_admin  # noqa: F401
