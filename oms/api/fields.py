"""Input fields that refuse wrong JSON types instead of coercing them."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from oms.dates import EARLIEST, latest_moment


class StrictCharField(serializers.CharField):
    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    default_error_messages = {"invalid": "Must be an integer."}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class MoneyField(serializers.DecimalField):
    """A non-negative amount, sent as a string ("19.99") or a JSON number."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", 12)
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class _Bounded:
    """A date or moment from 2000 up to `ahead` past now: money and schedules derive from it."""

    default_error_messages = {"out_of_range": "Must be between {earliest} and {latest}."}

    def __init__(self, *, ahead: timedelta, **kwargs: Any) -> None:
        self.ahead = ahead
        super().__init__(**kwargs)

    def bounds(self) -> tuple[Any, Any]:
        raise NotImplementedError

    def to_internal_value(self, value: Any) -> Any:
        parsed = super().to_internal_value(value)  # type: ignore[misc]
        earliest, latest = self.bounds()
        if not earliest <= parsed <= latest:
            self.fail("out_of_range", earliest=earliest.isoformat(), latest=latest.isoformat())  # type: ignore[attr-defined]
        return parsed


class BoundedDateTimeField(_Bounded, serializers.DateTimeField):
    """Facts (placed, occurred): up to a day ahead by default, for clock skew."""

    def __init__(self, *, ahead: timedelta = timedelta(days=1), **kwargs: Any) -> None:
        super().__init__(ahead=ahead, **kwargs)

    def bounds(self) -> tuple[datetime, datetime]:
        return EARLIEST, latest_moment(self.ahead)


class BoundedDateField(_Bounded, serializers.DateField):
    """Plans (a promise date): up to two years ahead by default."""

    def __init__(self, *, ahead: timedelta = timedelta(days=731), **kwargs: Any) -> None:
        super().__init__(ahead=ahead, **kwargs)

    def bounds(self) -> tuple[date, date]:
        return EARLIEST.date(), timezone.localdate() + self.ahead


@extend_schema_field({"type": "string", "pattern": r"^([01]\d|2[0-3]):[0-5]\d$", "example": "15:30"})
class HourMinuteField(serializers.TimeField):
    """A time of day as "HH:MM", in and out (OpenAPI's `time` format would demand seconds)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", input_formats=["%H:%M"], **kwargs)
