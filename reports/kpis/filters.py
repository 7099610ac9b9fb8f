from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class KpiFilters:
    """A date range (inclusive, UTC days) and optional merchant, channel and node."""

    since: dt.date
    until: dt.date
    merchant_id: int | None = None
    channel_id: int | None = None
    node_id: int | None = None

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.since, dt.time.min, tzinfo=dt.UTC)

    @property
    def end(self) -> dt.datetime:
        """The first instant after the range."""
        return dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)

    def days(self) -> list[dt.date]:
        return [self.since + dt.timedelta(days=n) for n in range((self.until - self.since).days + 1)]
