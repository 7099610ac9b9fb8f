"""Amounts as people read them: at the currency's precision (ISO 4217, from babel), with its code.
Amounts are stored with three decimals; "48.380" is never shown."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from babel.numbers import get_currency_precision


@lru_cache(maxsize=64)
def currency_precision(code: str) -> int:
    return int(get_currency_precision(code))


def fmt_money(value: Any, currency: str) -> str:
    """The number alone: "48.38", "1200" (JPY)."""
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-currency_precision(currency))))


def money_text(value: Any, currency: str) -> str:
    """With its code: "48.38 USD", "1200 JPY"."""
    return f"{fmt_money(value, currency)} {currency}"
