"""The industry's published target bands (issue #17), as drawn on the dashboard."""

from __future__ import annotations

from typing import TypedDict


class Bands(TypedDict):
    solid: tuple[float, float]
    leaders: tuple[float, float]
    better: str  # "higher" or "lower"


# Percentages, except cycle time (hours). "~90%" and "> 90%" are drawn up to where leaders start.
BANDS: dict[str, Bands] = {
    "order_accuracy": {"solid": (99.0, 99.5), "leaders": (99.5, 99.9), "better": "higher"},
    "perfect_order_rate": {"solid": (90.0, 95.0), "leaders": (95.0, 100.0), "better": "higher"},
    "cycle_time": {"solid": (24.0, 48.0), "leaders": (0.0, 24.0), "better": "lower"},
    "on_time_delivery": {"solid": (95.0, 97.0), "leaders": (97.0, 99.0), "better": "higher"},
    "fill_rate": {"solid": (90.0, 95.0), "leaders": (95.0, 100.0), "better": "higher"},
}


def band_of(kpi: str, value: float | None) -> str:
    """Return "leaders", "solid", "below" (or "" without a band or a value)."""
    bands = BANDS.get(kpi)
    if bands is None or value is None:
        return ""
    if bands["better"] == "lower":
        if value <= bands["leaders"][1]:
            return "leaders"
        return "solid" if value <= bands["solid"][1] else "below"
    if value >= bands["leaders"][0]:
        return "leaders"
    return "solid" if value >= bands["solid"][0] else "below"
