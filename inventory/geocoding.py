"""Offline geocoding: a destination to coordinates, and how precise they are.

US ZIP centroids come from the `zipcodes` package's bundled data; a US state's centroid is the
mean of its ZIP centroids. Anything else is unknown, and says so.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True)
class GeoPoint:
    latitude: float | None
    longitude: float | None
    precision: str  # "postal_code" | "region" | "unknown" (| "manual" for a node's own)

    @property
    def known(self) -> bool:
        return self.latitude is not None and self.longitude is not None


UNKNOWN = GeoPoint(None, None, "unknown")


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]:
    import zipcodes

    by_zip: dict[str, tuple[float, float]] = {}
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for row in zipcodes.list_all():
        try:
            lat, lng = float(row["lat"]), float(row["long"])
        except (TypeError, ValueError):
            continue
        if lat == 0 and lng == 0:
            continue
        by_zip[row["zip_code"]] = (lat, lng)
        acc = sums[row["state"]]
        acc[0] += lat
        acc[1] += lng
        acc[2] += 1
    by_state = {state: (acc[0] / acc[2], acc[1] / acc[2]) for state, acc in sums.items()}
    return by_zip, by_state


def geocode(*, country: str, region: str = "", postal_code: str = "") -> GeoPoint:
    """Return the coordinates of a destination: its ZIP centroid, else its state's, else unknown."""
    if (country or "").strip().upper() != "US":
        return UNKNOWN
    by_zip, by_state = _tables()
    zip5 = "".join(ch for ch in (postal_code or "") if ch.isdigit())[:5]
    if len(zip5) == 5 and zip5 in by_zip:
        lat, lng = by_zip[zip5]
        return GeoPoint(lat, lng, "postal_code")
    state = (region or "").strip().upper()
    if state in by_state:
        lat, lng = by_state[state]
        return GeoPoint(round(lat, 6), round(lng, 6), "region")
    return UNKNOWN


def distance_km(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Great-circle (haversine) distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))
