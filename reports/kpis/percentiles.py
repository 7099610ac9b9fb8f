from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping
from itertools import accumulate


def percentile(histogram: Mapping[int, int], fraction: float) -> float | None:
    """Return the exact percentile of the values a histogram {value: count} holds.

    Same rule as PostgreSQL's percentile_cont: linear interpolation between the values at
    ranks ⌊p⌋ and ⌊p⌋ + 1 of p = fraction × (n − 1). Summing days' histograms and taking the
    percentile gives the range's own figure, never an average of daily percentiles.
    """
    values = sorted(v for v, n in histogram.items() if n)
    cumulative = list(accumulate(histogram[v] for v in values))
    if not cumulative:
        return None
    total = cumulative[-1]

    def at(rank: int) -> int:  # the value of the rank-th smallest (0-based)
        return values[bisect_right(cumulative, rank)]

    position = fraction * (total - 1)
    below = int(position)
    low, high = at(below), at(min(below + 1, total - 1))
    return low + (position - below) * (high - low)
