"""The range of dates the OMS believes: year 1 or 9999 is a typo or a probe, and arithmetic on
it (an authorization's expiry, transit days) overflowed into a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.utils import timezone

# Nothing an OMS is told about happened before this.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def latest_moment(ahead: timedelta) -> datetime:
    return (timezone.now() + ahead).replace(microsecond=0)


def moment_in_range(moment: datetime, *, ahead: timedelta) -> bool:
    return EARLIEST <= moment <= latest_moment(ahead)
