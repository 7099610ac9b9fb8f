"""One sentence in words for a routing decision (the admin and the API show it).

For example: "Shipped whole from DC-EAST: the only node with all 3 lines; STORE-12 kept back by
its guardrail." Built only from the plan's recorded details, so a stored decision can be
explained again exactly as it was.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fulfillment.routing.planner import Plan

# How a rejection reads after the node's code, by reason.
PHRASES = {
    "guardrail": "kept back by its guardrail",
    "channel_buffer": "held back by the channel's availability buffer",
    "capacity": "at capacity today",
    "distance": "too far",
    "cut_off": "misses the promise date",
    "excluded": "excluded for this order",
    "not_routable": "may not route the SKU",
    "node_type": "not a node type this strategy uses",
    "node_group": "outside the strategy's node groups",
    "capability": "cannot do this service",
    "destination": "does not ship there",
    "no_stock": "out of stock",
    "insufficient_stock": "short of stock",
    "dropship_rule": "not the SKU's drop-ship vendor",
}
# The rejections worth naming in the sentence, most telling first.
NOTABLE = (
    "guardrail",
    "channel_buffer",
    "capacity",
    "excluded",
    "cut_off",
    "distance",
    "not_routable",
    "insufficient_stock",
)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _all_lines(n: int) -> str:
    return "both lines" if n == 2 else f"all {_plural(n, 'line')}"


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _notable(details: dict[str, Any], skip: set[str], limit: int = 2) -> list[str]:
    """The most telling rejected nodes, e.g. 'STORE-12 kept back by its guardrail'."""
    found: dict[str, str] = {}
    rejections = list(details.get("rejected_nodes", []))
    for line in details.get("lines", []):
        rejections += line.get("rejected", [])
    for reason in NOTABLE:
        for r in rejections:
            if r["reason"] == reason and r["node"] not in found and r["node"] not in skip:
                found[r["node"]] = f"{r['node']} {PHRASES[reason]}"
    return list(found.values())[:limit]


def _short(details: dict[str, Any]) -> list[str]:
    out = []
    for line in details.get("lines", []):
        if line["unallocated"] > 0:
            out.append(f"{line['sku']} × {line['unallocated']}")
    return out


def _why_short(details: dict[str, Any]) -> str:
    """Why the unallocated lines found no node: the first reasons of their rejections."""
    reasons: list[str] = []
    for line in details.get("lines", []):
        if line["unallocated"] <= 0:
            continue
        if not line.get("candidates") and not line.get("rejected") and not details.get("nodes"):
            reasons.append("no node passed the strategy's filters")
            continue
        for r in line.get("rejected", [])[:2]:
            reasons.append(f"{r['node']} {PHRASES.get(r['reason'], r['reason'])}")
    return _join(list(dict.fromkeys(reasons))[:3])


def explain(plan: Plan) -> str:
    d = plan.details
    lines = [line for line in d.get("lines", [])]
    n_lines = len(lines)
    used = plan.node_codes
    notes = d.get("notes", [])
    tail = ""
    if notes:
        tail = " " + "; ".join(n[0].upper() + n[1:] for n in notes) + "."
    how = d.get("how", [])
    if "no_strategy" in how:
        return f"Held: no strategy of {d.get('policy', 'the policy')} applies to this order.{tail}"
    if "pickup" in how:
        store = used[0] if used else d.get("pickup_store") or "the chosen store"
        if plan.complete:
            return f"Allocated for pick-up at {store}.{tail}"
        alternatives = [
            f"{a['node']} ({a['distance_km']:.0f} km)" if a.get("distance_km") is not None else a["node"]
            for a in d.get("alternatives", [])
        ]
        could = f"; nearest stores that could: {', '.join(alternatives)}" if alternatives else "; no other store could"
        why = _why_short(d)
        return f"Held: pick-up store {store} cannot supply {_join(_short(d))}" + (
            f" ({why})" if why else ""
        ) + f"{could}.{tail}"  # fmt: skip
    others = _notable(d, set(used))
    others_text = f"; {_join(others)}" if others else ""
    if plan.complete and len(used) == 1:
        whole = next((h for h in how if h.startswith("whole:")), None)
        able = int(whole.split(":")[1]) if whole else 1
        if able == 1:
            reason = f"the only node with {_all_lines(n_lines)}" if n_lines > 1 else "the only node with it"
        else:
            runner = next((code for code in d.get("whole_nodes", []) if code != used[0]), None)
            mode = d.get("ranking", {}).get("mode")
            if mode == "sort":
                by = ", ".join(k for k in d["ranking"].get("order", []))
                reason = f"first of {able} nodes with everything, sorted by {by}"
            else:
                mine = d["nodes"][used[0]]["score"]
                reason = f"best score of {able} nodes with everything ({mine:.2f}"
                reason += f" vs {d['nodes'][runner]['score']:.2f} at {runner})" if runner else ")"
        return f"Shipped whole from {used[0]}: {reason}{others_text}.{tail}"
    per_node = []
    for step in d.get("plan", []):
        per_node.append(f"{step['node']} ({_plural(len(step['lines']), 'line')})")
    if plan.complete:
        limit = d.get("split", {}).get("max_shipments")
        cap = f" within the limit of {limit}" if limit else ""
        return (
            f"Split across {_join(per_node)}: no node had {_all_lines(n_lines)}; "
            f"fewest shipments{cap}{others_text}.{tail}"
        )
    short = _join(_short(d))
    why = _why_short(d)
    action = {
        "hold": "held for a CSR",
        "backorder": "backordered",
        "cancel_after_days": f"backordered, cancelled if unfilled after {plan.failure_days} days",
        "next_strategy": "backordered",
    }.get(plan.failure_action, "backordered")
    if "ship_complete" in how:
        verb = "Held whole for a CSR" if plan.failure_action == "hold" else f"{action[0].upper()}{action[1:]} whole"
        return (
            f"{verb} (ship-complete): no single node had {_all_lines(n_lines)}"
            + (f" ({why})" if why else "")
            + f".{tail}"
        )
    if not used:
        return f"Nothing allocated, {action}: {short}" + (f" ({why})" if why else "") + f".{tail}"
    return (
        f"Allocated from {_join(per_node)}; {short} {action}" + (f" ({why})" if why else "") + f"{others_text}.{tail}"
    )
