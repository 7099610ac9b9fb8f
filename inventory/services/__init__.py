"""Inventory services: the only code that writes products, nodes and stock.

Routing and the other apps call these (and only these) to change stock; see docs/INVENTORY.md.
"""

from inventory.services.catalog import (
    Forbidden,
    channel_rule_set,
    node_create,
    node_locate,
    node_update,
    product_create,
    product_update,
    products_upsert,
)
from inventory.services.stock import (
    CountResult,
    Released,
    Reserved,
    ReserveFailure,
    ReserveItem,
    ReserveResult,
    StockLine,
    holdings,
    low_stock_check,
    stock_adjust,
    stock_consume,
    stock_counts_apply,
    stock_lock,
    stock_receive,
    stock_reserve,
    stock_settings_update,
    stock_transfer,
    stock_unreserve,
)

__all__ = [
    "CountResult",
    "Forbidden",
    "Released",
    "ReserveFailure",
    "ReserveItem",
    "ReserveResult",
    "Reserved",
    "StockLine",
    "channel_rule_set",
    "holdings",
    "low_stock_check",
    "node_create",
    "node_locate",
    "node_update",
    "product_create",
    "product_update",
    "products_upsert",
    "stock_adjust",
    "stock_consume",
    "stock_counts_apply",
    "stock_lock",
    "stock_receive",
    "stock_reserve",
    "stock_settings_update",
    "stock_transfer",
    "stock_unreserve",
]
