"""What a routing policy says, as plain frozen data the pure planner reads.

A policy is an ordered list of strategies plus drop-ship rules. The same JSON shape is stored
on a strategy's `conditions` / `filters` / `ranking` fields and read from a file by
`route_simulate --policy file.json` (docs/ROUTING.md). `parse_*` raise InvalidInput naming the
offending key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from oms.errors import FieldError, InvalidInput

NODE_TYPES = ("dc", "store", "dropship")
FACTORS = ("cost", "speed", "distance", "priority", "load")
SORT_KEYS = (*FACTORS, "shipments")
FAILURE_ACTIONS = ("next_strategy", "backorder", "hold", "cancel_after_days")
SERVICE_LEVELS = ("standard", "express", "next_day", "pickup")
DEFAULT_WEIGHTS = {"cost": 1.0, "speed": 1.0, "distance": 1.0, "priority": 0.5, "load": 0.25}
DEFAULT_PRIORITY_GROUPS = {"dc": 1, "store": 2, "dropship": 3}


@dataclass(frozen=True)
class Conditions:
    channels: tuple[str, ...] = ()
    service_levels: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()  # "US-CA"
    min_order_value: Decimal | None = None
    max_order_value: Decimal | None = None
    sku_tags: tuple[str, ...] = ()  # applies when any line's product has one of these tags


@dataclass(frozen=True)
class Filters:
    node_types: tuple[str, ...] = NODE_TYPES
    exclude_node_types: tuple[str, ...] = ()
    node_groups: tuple[str, ...] = ()  # node tags; empty = any
    exclude_node_groups: tuple[str, ...] = ()
    max_distance_km: float | None = None
    store_guardrail: int = 0  # the minimum ATP a store keeps back after allocation
    respect_sku_node_rules: bool = True
    respect_capacity: bool = True
    meet_promise: bool = False  # reject nodes whose cut-off and transit miss the promise date


@dataclass(frozen=True)
class Ranking:
    mode: str = "weights"  # "weights" | "sort"
    weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_WEIGHTS.items())
    order: tuple[str, ...] = ()
    priority_groups: tuple[tuple[str, int], ...] = ()  # node type -> group; empty = node.priority

    @property
    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)

    @property
    def group_map(self) -> dict[str, int]:
        return dict(self.priority_groups)


@dataclass(frozen=True)
class StrategySpec:
    name: str
    conditions: Conditions = field(default_factory=Conditions)
    filters: Filters = field(default_factory=Filters)
    ranking: Ranking = field(default_factory=Ranking)
    max_shipments: int | None = None
    ship_complete: bool = False
    ship_complete_channels: tuple[str, ...] = ()
    keep_bundles: bool = True
    failure_action: str = "backorder"
    failure_days: int | None = None


@dataclass(frozen=True)
class DropShipSpec:
    node_code: str
    sku: str = ""
    tag: str = ""


@dataclass(frozen=True)
class PolicySpec:
    label: str
    strategies: tuple[StrategySpec, ...]
    dropship: tuple[DropShipSpec, ...] = ()
    version_id: int | None = None


DEFAULT_POLICY = PolicySpec(
    label="built-in default",
    strategies=(StrategySpec(name="Default", max_shipments=3, ranking=Ranking(priority_groups=())),),
)


# --- parsing ---------------------------------------------------------------------------------


class _Errors:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.items: list[FieldError] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(FieldError(f"{self.prefix}.{key}" if self.prefix else key, "invalid", message))


def _object(value: Any, where: str, errors: _Errors) -> Mapping[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        errors.add(where, "Must be a JSON object.")
        return {}
    return value


def _unknown(data: Mapping[str, Any], allowed: tuple[str, ...], where: str, errors: _Errors) -> None:
    for key in data:
        if key not in allowed:
            errors.add(f"{where}.{key}", f"Unknown key; expected one of: {', '.join(allowed)}.")


def _strings(data: Mapping[str, Any], key: str, where: str, errors: _Errors, choices: tuple[str, ...] = ()) -> tuple:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(f"{where}.{key}", "Must be a list of strings.")
        return ()
    bad = [v for v in value if choices and v not in choices]
    if bad:
        errors.add(f"{where}.{key}", f"Unknown value(s) {', '.join(bad)}; expected {', '.join(choices)}.")
    return tuple(value)


def _number(data: Mapping[str, Any], key: str, where: str, errors: _Errors, *, integer: bool = False) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        errors.add(f"{where}.{key}", "Must be a number.")
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.add(f"{where}.{key}", "Must be a number.")
        return None
    if number < 0 or (integer and number != int(number)):
        errors.add(f"{where}.{key}", "Must be a non-negative " + ("integer." if integer else "number."))
        return None
    return int(number) if integer else number


def _bool(data: Mapping[str, Any], key: str, default: bool, where: str, errors: _Errors) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        errors.add(f"{where}.{key}", "Must be true or false.")
        return default
    return value


def parse_conditions(value: Any, errors: _Errors, where: str = "conditions") -> Conditions:
    data = _object(value, where, errors)
    allowed = ("channels", "service_levels", "countries", "regions", "min_order_value", "max_order_value", "sku_tags")
    _unknown(data, allowed, where, errors)
    return Conditions(
        channels=_strings(data, "channels", where, errors),
        service_levels=_strings(data, "service_levels", where, errors, SERVICE_LEVELS),
        countries=tuple(c.upper() for c in _strings(data, "countries", where, errors)),
        regions=tuple(r.upper() for r in _strings(data, "regions", where, errors)),
        min_order_value=_number(data, "min_order_value", where, errors),
        max_order_value=_number(data, "max_order_value", where, errors),
        sku_tags=_strings(data, "sku_tags", where, errors),
    )


def parse_filters(value: Any, errors: _Errors, where: str = "filters") -> Filters:
    data = _object(value, where, errors)
    allowed = (
        "node_types", "exclude_node_types", "node_groups", "exclude_node_groups", "max_distance_km",
        "store_guardrail", "respect_sku_node_rules", "respect_capacity", "meet_promise",
    )  # fmt: skip
    _unknown(data, allowed, where, errors)
    distance = _number(data, "max_distance_km", where, errors)
    return Filters(
        node_types=_strings(data, "node_types", where, errors, NODE_TYPES) if "node_types" in data else NODE_TYPES,
        exclude_node_types=_strings(data, "exclude_node_types", where, errors, NODE_TYPES),
        node_groups=_strings(data, "node_groups", where, errors),
        exclude_node_groups=_strings(data, "exclude_node_groups", where, errors),
        max_distance_km=float(distance) if distance is not None else None,
        store_guardrail=_number(data, "store_guardrail", where, errors, integer=True) or 0,
        respect_sku_node_rules=_bool(data, "respect_sku_node_rules", True, where, errors),
        respect_capacity=_bool(data, "respect_capacity", True, where, errors),
        meet_promise=_bool(data, "meet_promise", False, where, errors),
    )


def parse_ranking(value: Any, errors: _Errors, where: str = "ranking") -> Ranking:
    data = _object(value, where, errors)
    _unknown(data, ("mode", "weights", "order", "priority_groups"), where, errors)
    mode = data.get("mode", "weights")
    if mode not in ("weights", "sort"):
        errors.add(f"{where}.mode", "Must be 'weights' or 'sort'.")
        mode = "weights"
    weights = dict(DEFAULT_WEIGHTS)
    raw_weights = _object(data.get("weights"), f"{where}.weights", errors)
    if raw_weights:
        _unknown(raw_weights, FACTORS, f"{where}.weights", errors)
        weights = {name: 0.0 for name in FACTORS}
        for name in FACTORS:
            number = _number(raw_weights, name, f"{where}.weights", errors)
            weights[name] = float(number) if number is not None else 0.0
        if not any(weights.values()):
            errors.add(f"{where}.weights", "At least one weight must be above zero.")
    order = _strings(data, "order", where, errors, SORT_KEYS)
    if mode == "sort" and not order:
        errors.add(f"{where}.order", "A sort ranking needs the order of its factors.")
    groups_raw = _object(data.get("priority_groups"), f"{where}.priority_groups", errors)
    _unknown(groups_raw, NODE_TYPES, f"{where}.priority_groups", errors)
    groups = tuple(
        (node_type, _number(groups_raw, node_type, f"{where}.priority_groups", errors, integer=True) or 0)
        for node_type in NODE_TYPES
        if node_type in groups_raw
    )
    return Ranking(mode=mode, weights=tuple(weights.items()), order=order, priority_groups=groups)


def parse_strategy(data: Mapping[str, Any], where: str, errors: _Errors) -> StrategySpec:
    allowed = (
        "name", "conditions", "filters", "ranking", "max_shipments", "ship_complete", "ship_complete_channels",
        "keep_bundles", "failure_action", "failure_days",
    )  # fmt: skip
    _unknown(data, allowed, where, errors)
    name = data.get("name") or "Strategy"
    if not isinstance(name, str):
        errors.add(f"{where}.name", "Must be a string.")
        name = "Strategy"
    action = data.get("failure_action", "backorder")
    if action not in FAILURE_ACTIONS:
        errors.add(f"{where}.failure_action", f"Must be one of {', '.join(FAILURE_ACTIONS)}.")
        action = "backorder"
    days = _number(data, "failure_days", where, errors, integer=True)
    if action == "cancel_after_days" and not days:
        errors.add(f"{where}.failure_days", "cancel_after_days needs a number of days.")
    max_shipments = _number(data, "max_shipments", where, errors, integer=True)
    if max_shipments == 0:
        errors.add(f"{where}.max_shipments", "Use 1 for 'never split', or leave it empty for no limit.")
    return StrategySpec(
        name=name,
        conditions=parse_conditions(data.get("conditions"), errors, f"{where}.conditions"),
        filters=parse_filters(data.get("filters"), errors, f"{where}.filters"),
        ranking=parse_ranking(data.get("ranking"), errors, f"{where}.ranking"),
        max_shipments=max_shipments or None,
        ship_complete=_bool(data, "ship_complete", False, where, errors),
        ship_complete_channels=_strings(data, "ship_complete_channels", where, errors),
        keep_bundles=_bool(data, "keep_bundles", True, where, errors),
        failure_action=action,
        failure_days=days,
    )


def parse_policy(data: Any, *, label: str = "policy file") -> PolicySpec:
    """Return the policy a JSON document describes ({"strategies": [...], "dropship": [...]})."""
    errors = _Errors("")
    root = _object(data, "policy", errors)
    _unknown(root, ("name", "strategies", "dropship"), "policy", errors)
    raw = root.get("strategies")
    if not isinstance(raw, list) or not raw:
        errors.add("strategies", "A policy needs a non-empty list of strategies.")
        raw = []
    strategies = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            errors.add(f"strategies[{i}]", "Must be a JSON object.")
            continue
        strategies.append(parse_strategy(item, f"strategies[{i}]", errors))
    dropship = []
    for i, item in enumerate(root.get("dropship") or []):
        if not isinstance(item, Mapping) or not isinstance(item.get("node"), str):
            errors.add(f"dropship[{i}]", "Must be an object with a node code and a sku or a tag.")
            continue
        if not (item.get("sku") or item.get("tag")):
            errors.add(f"dropship[{i}]", "Needs a sku or a tag.")
        dropship.append(DropShipSpec(node_code=item["node"], sku=item.get("sku") or "", tag=item.get("tag") or ""))
    if errors.items:
        raise InvalidInput(errors.items)
    return PolicySpec(label=str(root.get("name") or label), strategies=tuple(strategies), dropship=tuple(dropship))


def check_strategy_fields(*, conditions: Any, filters: Any, ranking: Any) -> list[FieldError]:
    """Validate a strategy row's JSON fields (the admin form calls this)."""
    errors = _Errors("")
    parse_conditions(conditions, errors)
    parse_filters(filters, errors)
    parse_ranking(ranking, errors)
    return errors.items


def strategy_from_row(row: Any) -> StrategySpec:
    """Build the spec of a saved RoutingStrategy row (validated when it was saved)."""
    errors = _Errors(f"strategy {row.position}")
    spec = StrategySpec(
        name=row.name,
        conditions=parse_conditions(row.conditions, errors),
        filters=parse_filters(row.filters, errors),
        ranking=parse_ranking(row.ranking, errors),
        max_shipments=row.max_shipments or None,
        ship_complete=row.ship_complete,
        ship_complete_channels=tuple(row.ship_complete_channels or ()),
        keep_bundles=row.keep_bundles,
        failure_action=row.failure_action,
        failure_days=row.failure_days,
    )
    if errors.items:
        raise InvalidInput(errors.items)
    return spec


def policy_to_json(policy: PolicySpec) -> dict[str, Any]:
    """The JSON document of a policy (route_simulate prints and reads this shape)."""

    def strategy(s: StrategySpec) -> dict[str, Any]:
        c, f, r = s.conditions, s.filters, s.ranking
        return {
            "name": s.name,
            "conditions": {
                k: v
                for k, v in {
                    "channels": list(c.channels),
                    "service_levels": list(c.service_levels),
                    "countries": list(c.countries),
                    "regions": list(c.regions),
                    "min_order_value": str(c.min_order_value) if c.min_order_value is not None else None,
                    "max_order_value": str(c.max_order_value) if c.max_order_value is not None else None,
                    "sku_tags": list(c.sku_tags),
                }.items()
                if v
            },  # fmt: skip
            "filters": {
                "node_types": list(f.node_types),
                "exclude_node_types": list(f.exclude_node_types),
                "node_groups": list(f.node_groups),
                "exclude_node_groups": list(f.exclude_node_groups),
                "max_distance_km": f.max_distance_km,
                "store_guardrail": f.store_guardrail,
                "respect_sku_node_rules": f.respect_sku_node_rules,
                "respect_capacity": f.respect_capacity,
                "meet_promise": f.meet_promise,
            },  # fmt: skip
            "ranking": {
                "mode": r.mode,
                "weights": r.weight_map,
                "order": list(r.order),
                "priority_groups": r.group_map,
            },
            "max_shipments": s.max_shipments,
            "ship_complete": s.ship_complete,
            "ship_complete_channels": list(s.ship_complete_channels),
            "keep_bundles": s.keep_bundles,
            "failure_action": s.failure_action,
            "failure_days": s.failure_days,
        }

    return {
        "name": policy.label,
        "strategies": [strategy(s) for s in policy.strategies],
        "dropship": [{"node": d.node_code, "sku": d.sku, "tag": d.tag} for d in policy.dropship],
    }
