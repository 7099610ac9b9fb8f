"""Card numbers (PANs) never get in: not into the database, the logs, events or webhooks.

Three kinds of field, by name (the last key of its path in a body, or a form field's name):

- free text (anything not listed below): refused when it holds a Luhn-valid run of 13-19 digits,
  the digits joined by any separators (spaces, dots, dashes, slashes, underscores, mixed, up to
  three in a row), counted in whole groups ("+1 415 555 0134 4111 1111 1111 1111" is caught);
- identifiers (IDENTIFIER_FIELDS: ids a channel or system makes up): refused only when the whole
  value is a card number, bare or grouped as cards print them (4-4-4-4, 4-6-5): an id with its
  own shape (Amazon's 3-7-7) may pass the Luhn check by chance, one time in ten;
- known formats (EXEMPT_FIELDS): barcodes (EAN/UPC/GTIN carry their own check digit, and about
  one in ten also passes Luhn) and our own tracking numbers. Never checked.

docs/RELIABILITY.md ("Bad input and abuse") lists the same.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

EXEMPT_FIELDS = frozenset({"barcode", "barcodes", "gtin", "ean", "upc", "scans", "tracking_number", "tracking_code"})
IDENTIFIER_FIELDS = frozenset(
    {
        "external_id", "bundle", "sku", "number", "order_number", "reference", "id", "event_id", "line",
        "payment", "channel", "location", "node", "code", "key", "carrier", "gateway",
    }
)  # fmt: skip
MESSAGE = "Looks like a card number. Never send card data; send the gateway's token."

_SEP = r"[\s./_-]{1,3}"
_DIGITS_JOINED = re.compile(rf"\d+(?:{_SEP}\d+)*")
_GROUP = re.compile(r"\d+")
_CARD_GROUPINGS = re.compile(  # 4-4-4-4 (with up to 3 more digits) or Amex's 4-6-5
    rf"\d{{4}}(?:{_SEP}\d{{4}}){{2,3}}(?:{_SEP}\d{{1,3}})?|\d{{4}}{_SEP}\d{{6}}{_SEP}\d{{4,5}}"
)


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _is_pan(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


def contains_card_number(text: str) -> bool:
    """Whether free text holds a card number: any run of whole digit groups, joined by separators,
    that has 13-19 digits and passes the Luhn check."""
    for run in _DIGITS_JOINED.finditer(text):
        groups = _GROUP.findall(run.group())
        for start in range(len(groups)):
            digits = ""
            for group in groups[start:]:
                digits += group
                if len(digits) > 19:
                    break
                if _is_pan(digits):
                    return True
    return False


def is_card_number(value: str) -> bool:
    """Whether an identifier is nothing but a card number, bare or in a card's grouping."""
    value = value.strip()
    if value.isdigit():
        return _is_pan(value)
    return bool(_CARD_GROUPINGS.fullmatch(value)) and _is_pan(re.sub(r"\D", "", value))


def field_holds_card_number(name: str, value: Any) -> bool:
    """Whether `value` (str, or a JSON number) in the field `name` carries a card number."""
    if name in EXEMPT_FIELDS or isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    text = str(value)
    return is_card_number(text) if name in IDENTIFIER_FIELDS else contains_card_number(text)


def card_number_paths(data: Any, path: str = "", name: str = "") -> Iterator[str]:
    """Paths of the fields of a parsed JSON body that carry a card number (a list's items are
    judged by the list's own name: `scans[3]` is a scan)."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key not in EXEMPT_FIELDS:
                yield from card_number_paths(value, f"{path}.{key}" if path else str(key), str(key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from card_number_paths(item, f"{path}[{index}]", name)
    elif field_holds_card_number(name, data):
        yield path
