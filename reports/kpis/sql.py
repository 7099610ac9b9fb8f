"""The SQL behind the KPIs: one row per counted object ("grains"), summed per day.

Each grain is a SELECT yielding one row per fulfilment order or order, with its anchor day,
merchant, channel and the 0/1 flags or amounts a KPI sums (docs/KPIS.md). The same grain
serves the daily totals (`components`), the rollup and the drill-down (`grain_orders`), so a
figure and the orders behind it cannot disagree. Everything is set-based; runs on PostgreSQL
and, more slowly, on SQLite.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.db import connection

from reports.kpis.filters import KpiFilters

# Columns summed per (day, merchant, channel) for each grain; each is a column of KpiDay.
SUMS: dict[str, dict[str, str]] = {
    "packed": {"fos_packed": "1", "fos_accurate": "accurate"},
    "captured": {"orders_captured": "1", "orders_backordered": "backordered"},
    "shipped": {
        "orders_shipped": "1",
        "orders_split": "split",
        "units_ordered": "units_ordered",
        "units_first_shipped": "units_first_shipped",
        "shipping_cost": "shipping_cost",
        "handling_cost": "handling_cost",
    },
    "delivered": {"orders_delivered": "1", "orders_on_time": "on_time", "orders_perfect": "perfect"},
    "parcels": {"units_shipped": "units"},
}
MONEY = {"shipping_cost", "handling_cost"}


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _day(column: str) -> str:
    return f"(({column}) AT TIME ZONE 'UTC')::date" if _postgres() else f"date({column})"


def minutes_between(start: str, end: str) -> str:
    if _postgres():
        return f"floor(extract(epoch from ({end}) - ({start})) / 60)::int"
    # Whole seconds (julianday's floating point would put 20 h at 1199.99… minutes); %% because
    # the SQL goes through parameter formatting.
    return f"((strftime('%%s', {end}) - strftime('%%s', {start})) / 60)"


def flag(condition: str) -> str:
    return f"CASE WHEN {condition} THEN 1 ELSE 0 END"


def _where(filters: KpiFilters, *, node_column: str | None = None) -> str:
    """Filters on the order `o` (and the fulfilment order's node when the grain has one)."""
    sql = ""
    if filters.merchant_id is not None:
        sql += " AND o.merchant_id = %(merchant)s"
    if filters.channel_id is not None:
        sql += " AND o.channel_id = %(channel)s"
    if filters.node_id is not None:
        if node_column:
            sql += f" AND {node_column} = %(node)s"
        else:  # an order counts for a node when one of its fulfilment orders is there
            sql += """ AND EXISTS (SELECT 1 FROM fulfillment_fulfillmentorder nf
                                   WHERE nf.order_id = o.id AND nf.node_id = %(node)s)"""
    return sql


def params(filters: KpiFilters) -> dict[str, Any]:
    return {
        "start": filters.start,
        "end": filters.end,
        "merchant": filters.merchant_id,
        "channel": filters.channel_id,
        "node": filters.node_id,
    }


# Returns and claims that count against a KPI (a rejected or cancelled one does not).
LIVE_RETURN = "r.status NOT IN ('rejected', 'cancelled')"
LIVE_CLAIM = "c.status <> 'rejected'"
# A fulfilment order is not accurate when it was packed with a rescan after a mismatch, when a
# line it carried comes back for a wrong item sent, or when its order has a wrong-item claim.
INACCURATE_FO = f"""(f.pack_corrected
    OR EXISTS (SELECT 1 FROM returns_returnline rl
               JOIN returns_returnreason rr ON rr.id = rl.reason_id AND rr.wrong_item
               JOIN returns_return r ON r.id = rl.rma_id AND {LIVE_RETURN}
               JOIN fulfillment_fulfillmentorderline wl ON wl.order_line_id = rl.order_line_id
               WHERE wl.fulfillment_order_id = f.id)
    OR EXISTS (SELECT 1 FROM returns_claim c WHERE c.order_id = f.order_id AND c.kind = 'wrong_item'
               AND {LIVE_CLAIM}))"""
# A damage claim (damaged in transit) makes the order not perfect.
UNDAMAGED = f"""NOT EXISTS (SELECT 1 FROM returns_claim c WHERE c.order_id = o.id AND c.kind = 'damaged_in_transit'
                            AND {LIVE_CLAIM})"""


def _packed(filters: KpiFilters) -> str:
    return f"""
        SELECT o.id AS order_id, {_day("f.packed_at")} AS day, o.merchant_id, o.channel_id,
               {flag(f"NOT ({INACCURATE_FO})")} AS accurate
        FROM fulfillment_fulfillmentorder f JOIN orders_order o ON o.id = f.order_id
        WHERE f.packed_at >= %(start)s AND f.packed_at < %(end)s {_where(filters, node_column="f.node_id")}"""


def _captured(filters: KpiFilters) -> str:
    waited = """EXISTS (SELECT 1 FROM fulfillment_routingdecision rd WHERE rd.order_id = o.id
                        AND rd.outcome IN ('backordered', 'partially_allocated'))"""
    return f"""
        SELECT o.id AS order_id, {_day("o.created_at")} AS day, o.merchant_id, o.channel_id,
               {flag(waited)} AS backordered
        FROM orders_order o
        WHERE o.created_at >= %(start)s AND o.created_at < %(end)s {_where(filters)}"""


def _parcels(anchor: str) -> str:
    """Non-voided parcels per order (its ship and delivery times are their latest), for the
    orders with a parcel whose `anchor` time falls in the range (found by reports' index)."""
    return f"""(SELECT order_id, MAX(shipped_at) AS shipped_at, MAX(delivered_at) AS delivered_at,
                      COUNT(*) - COUNT(delivered_at) AS undelivered, SUM(rate) AS shipping_cost,
                      COUNT(DISTINCT fulfillment_order_id) AS fos
               FROM fulfillment_shipment
               WHERE voided_at IS NULL AND order_id IN (
                   SELECT order_id FROM fulfillment_shipment WHERE {anchor} >= %(start)s AND {anchor} < %(end)s)
               GROUP BY order_id)"""


# Cycle time is counted in whole quarter-hours: fine enough for a KPI read in hours, and a
# day's histogram then has a few hundred buckets instead of one per order (docs/KPIS.md).
CYCLE_STEP = 15
DONE_SHIPPING = "('shipped', 'delivered', 'completed')"


def _shipped(filters: KpiFilters) -> str:
    first_shipped = """COALESCE((
        SELECT SUM(fl.qty_shipped) FROM fulfillment_fulfillmentorderline fl
        JOIN fulfillment_fulfillmentorder f ON f.id = fl.fulfillment_order_id
        WHERE f.order_id = o.id
          AND f.decision_id = (SELECT MIN(rd.id) FROM fulfillment_routingdecision rd WHERE rd.order_id = o.id)
    ), 0)"""
    handling = """COALESCE((
        SELECT SUM(n.handling_cost) FROM fulfillment_fulfillmentorder f JOIN inventory_node n ON n.id = f.node_id
        WHERE f.order_id = o.id AND EXISTS (
            SELECT 1 FROM fulfillment_shipment sh WHERE sh.fulfillment_order_id = f.id AND sh.voided_at IS NULL)
    ), 0)"""
    return f"""
        SELECT o.id AS order_id, {_day("p.shipped_at")} AS day, o.merchant_id, o.channel_id,
               ({minutes_between("o.created_at", "p.shipped_at")} / {CYCLE_STEP}) * {CYCLE_STEP} AS minutes,
               {flag("p.fos > 1")} AS split,
               (SELECT SUM(l.quantity) FROM orders_orderline l WHERE l.order_id = o.id) AS units_ordered,
               {first_shipped} AS units_first_shipped,
               p.shipping_cost, {handling} AS handling_cost
        FROM orders_order o JOIN {_parcels("shipped_at")} p ON p.order_id = o.id
        WHERE o.status IN {DONE_SHIPPING} AND p.shipped_at >= %(start)s AND p.shipped_at < %(end)s
              {_where(filters)}"""


def _delivered(filters: KpiFilters) -> str:
    on_time = f"(o.promise_date IS NULL OR {_day('p.delivered_at')} <= o.promise_date)"
    complete = "NOT EXISTS (SELECT 1 FROM orders_orderline l WHERE l.order_id = o.id AND l.qty_delivered < l.quantity)"
    accurate = f"NOT EXISTS (SELECT 1 FROM fulfillment_fulfillmentorder f WHERE f.order_id = o.id AND {INACCURATE_FO})"
    return f"""
        SELECT o.id AS order_id, {_day("p.delivered_at")} AS day, o.merchant_id, o.channel_id,
               {flag(on_time)} AS on_time,
               {flag(f"{on_time} AND {complete} AND {accurate} AND {UNDAMAGED}")} AS perfect
        FROM orders_order o JOIN {_parcels("delivered_at")} p ON p.order_id = o.id
        WHERE o.status IN ('delivered', 'completed') AND p.undelivered = 0
              AND p.delivered_at >= %(start)s AND p.delivered_at < %(end)s {_where(filters)}"""


def _parcels_shipped(filters: KpiFilters) -> str:
    """Units per parcel line, on the day the parcel shipped (the return rate's denominator)."""
    return f"""
        SELECT o.id AS order_id, {_day("s.shipped_at")} AS day, o.merchant_id, o.channel_id, sl.quantity AS units
        FROM fulfillment_shipmentline sl JOIN fulfillment_shipment s ON s.id = sl.shipment_id
             JOIN orders_order o ON o.id = s.order_id
        WHERE s.voided_at IS NULL AND s.shipped_at >= %(start)s AND s.shipped_at < %(end)s {_where(filters)}"""


def _returned(filters: KpiFilters) -> str:
    """Units asked back, per return line, on the day the return was requested."""
    return f"""
        SELECT o.id AS order_id, {_day("r.created_at")} AS day, o.merchant_id, o.channel_id,
               rr.code AS reason, rl.quantity AS units
        FROM returns_returnline rl JOIN returns_return r ON r.id = rl.rma_id
             JOIN returns_returnreason rr ON rr.id = rl.reason_id JOIN orders_order o ON o.id = r.order_id
        WHERE {LIVE_RETURN} AND r.created_at >= %(start)s AND r.created_at < %(end)s {_where(filters)}"""


GRAINS = {"packed": _packed, "captured": _captured, "shipped": _shipped, "delivered": _delivered,
          "parcels": _parcels_shipped, "returned": _returned}  # fmt: skip


def rows(query: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(query, values)
        names = [c[0] for c in cursor.description]
        for row in cursor.fetchall():
            yield dict(zip(names, row, strict=True))


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


Key = tuple[dt.date, int, int]  # (day, merchant id, channel id)


def components(filters: KpiFilters) -> dict[Key, dict[str, Any]]:
    """Every KpiDay column, summed per (day, merchant, channel), straight from the source rows."""
    out: dict[Key, dict[str, Any]] = {}
    for grain, sums in SUMS.items():
        columns = ", ".join(f"SUM({expr}) AS {name}" for name, expr in sums.items())
        sql = f"""SELECT day, merchant_id, channel_id, {columns}
                  FROM ({GRAINS[grain](filters)}) g GROUP BY day, merchant_id, channel_id"""
        for row in rows(sql, params(filters)):
            key = (_as_date(row.pop("day")), row.pop("merchant_id"), row.pop("channel_id"))
            target = out.setdefault(key, {})
            for name, value in row.items():
                target[name] = Decimal(str(value or 0)).quantize(Decimal("0.01")) if name in MONEY else int(value or 0)
    return out


def cycle_buckets(filters: KpiFilters) -> dict[Key, dict[int, int]]:
    """Shipped orders per quarter-hour of capture-to-ship time, per (day, merchant, channel)."""
    sql = f"""SELECT day, merchant_id, channel_id, minutes, COUNT(*) AS orders
              FROM ({_shipped(filters)}) g GROUP BY day, merchant_id, channel_id, minutes"""
    out: dict[Key, dict[int, int]] = {}
    for row in rows(sql, params(filters)):
        key = (_as_date(row["day"]), row["merchant_id"], row["channel_id"])
        out.setdefault(key, {})[int(row["minutes"])] = int(row["orders"])
    return out


# The drill-down: which rows of a grain count, for the figure or its misses.
DRILL: dict[str, tuple[str, str]] = {
    # kpi: (grain, condition of a miss)
    "order_accuracy": ("packed", "accurate = 0"),
    "perfect_order_rate": ("delivered", "perfect = 0"),
    "on_time_delivery": ("delivered", "on_time = 0"),
    "cycle_time": ("shipped", "minutes > 48 * 60"),
    "fill_rate": ("shipped", "units_first_shipped < units_ordered"),
    "split_rate": ("shipped", "split = 1"),
    "backorder_rate": ("captured", "backordered = 1"),
    "cost_per_order": ("shipped", "1 = 1"),
    "return_rate": ("returned", "reason = %(reason)s"),
}


def grain_order_ids(filters: KpiFilters, *, kpi: str, misses: bool, limit: int, reason: str = "") -> list[int]:
    """Ids of the orders behind a KPI (all counted, or only those that miss it; for the return
    rate, those returned for `reason`), newest first."""
    grain, miss = DRILL[kpi]
    condition = miss if misses else "1 = 1"
    sql = f"""SELECT DISTINCT order_id FROM ({GRAINS[grain](filters)}) g WHERE {condition}
              ORDER BY order_id DESC LIMIT %(limit)s"""
    return [row["order_id"] for row in rows(sql, {**params(filters), "limit": limit, "reason": reason})]


def return_units_by_reason(filters: KpiFilters) -> dict[str, int]:
    """Units asked back per reason code in the range (returns are few: always from the rows)."""
    query = f"SELECT reason, SUM(units) AS units FROM ({_returned(filters)}) g GROUP BY reason"
    return {row["reason"]: int(row["units"]) for row in rows(query, params(filters))}


def _floor(expr: str) -> str:
    return f"floor({expr})" if _postgres() else f"cast({expr} as integer)"


def cycle_percentiles(
    filters: KpiFilters, *, live: KpiFilters | None, rolled: bool, fractions: tuple[float, ...], per_day: bool
) -> dict[dt.date | None, list[float | None]]:
    """Exact capture-to-ship percentiles (minutes), over the range or per day.

    The values are the rollup's per-day histograms (days in KpiRollupRun) plus, for `live` days,
    the shipped orders themselves; the rule is PostgreSQL's percentile_cont (linear
    interpolation between ranks ⌊p(n−1)⌋ and the next), taken in SQL over the merged
    histogram, so a range's figure is never an average of daily ones.
    """
    done = "(SELECT day FROM reports_kpirolluprun)"
    parts = []
    if rolled:
        scope = "".join(
            f" AND b.{column} = %({name})s"
            for column, name, value in (("merchant_id", "merchant", filters.merchant_id),
                                        ("channel_id", "channel", filters.channel_id))
            if value is not None
        )  # fmt: skip
        parts.append(f"""SELECT b.day, b.minutes, b.orders AS n FROM reports_kpicyclebucket b
                         WHERE b.day >= %(since)s AND b.day <= %(until)s AND b.day IN {done} {scope}""")
    if live is not None:
        unrolled = f"WHERE g.day NOT IN {done}" if rolled else ""
        parts.append(f"SELECT g.day, g.minutes, 1 AS n FROM ({_shipped(live)}) g {unrolled}")
    if not parts:
        return {}
    rank = {p: _floor(f"{p!r} * (total - 1)") for p in fractions}
    picks = ", ".join(
        f"MIN(CASE WHEN cum > {rank[p]} THEN minutes END) AS lo{i}, "
        f"MIN(CASE WHEN cum > (CASE WHEN {rank[p]} + 1 > total - 1 THEN total - 1 ELSE {rank[p]} + 1 END) "
        f"THEN minutes END) AS hi{i}"
        for i, p in enumerate(fractions)
    )
    query = f"""
        WITH h AS (SELECT {"day" if per_day else "0"} AS g, minutes, SUM(n) AS n
                   FROM ({" UNION ALL ".join(parts)}) s GROUP BY 1, 2),
             c AS (SELECT g, minutes, SUM(n) OVER (PARTITION BY g ORDER BY minutes) AS cum,
                          SUM(n) OVER (PARTITION BY g) AS total FROM h)
        SELECT g, total, {picks} FROM c GROUP BY g, total"""
    values = {**params(live or filters), "since": filters.since, "until": filters.until}
    out: dict[dt.date | None, list[float | None]] = {}
    for row in rows(query, values):
        position = [p * (int(row["total"]) - 1) for p in fractions]
        out[_as_date(row["g"]) if per_day else None] = [
            row[f"lo{i}"] + (pos - int(pos)) * (row[f"hi{i}"] - row[f"lo{i}"]) for i, pos in enumerate(position)
        ]
    return out
