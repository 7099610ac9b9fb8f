"""The JSON request parser of the whole API, with bounds: nesting depth, string length, number
size, no NUL characters (PostgreSQL text cannot hold them), and no card numbers (oms/card_numbers.py).
A body past a bound is refused with 400 naming where, before any view sees it (so no message
or log echoes a card number); without the bounds, a deep body was a RecursionError and a NUL an
error on insert, both a 500."""

from __future__ import annotations

import json
import math
from typing import Any

from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError
from rest_framework.parsers import JSONParser

from oms import card_numbers
from oms.card_numbers import card_number_paths

MAX_DEPTH = 32
MAX_STRING_LENGTH = 100_000
MAX_NUMBER_LENGTH = 40  # characters of a number literal: far beyond any amount or quantity
MAX_ERRORS = 20


class _NumberTooLarge:
    """Stands for an oversized number literal until the walk can name its path."""


def _parse_int(text: str) -> int | _NumberTooLarge:
    return _NumberTooLarge() if len(text) > MAX_NUMBER_LENGTH else int(text)


def _parse_float(text: str) -> float | _NumberTooLarge:
    value = float(text)
    return _NumberTooLarge() if len(text) > MAX_NUMBER_LENGTH or not math.isfinite(value) else value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON.")


def json_load(raw: bytes | str) -> Any:
    """Parse a request body; raise ParseError (malformed) or ValidationError (past a bound)."""
    try:
        data = json.loads(raw, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise _refused({None: [(f"Nested deeper than {MAX_DEPTH} levels.", "too_deep")]}) from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise ParseError(f"JSON parse error - {exc}") from None
    problems: dict[str | None, list[tuple[str, str]]] = {}
    _walk(data, "", 1, problems)
    if not problems:  # the walk's bounds keep this one's recursion shallow
        problems = {path or None: [(card_numbers.MESSAGE, "card_number")] for path in card_number_paths(data)}
    if problems:
        raise _refused(problems)
    return data


def _walk(value: Any, path: str, depth: int, problems: dict[str | None, list[tuple[str, str]]]) -> None:
    if len(problems) >= MAX_ERRORS:
        return
    if isinstance(value, (dict, list)) and depth > MAX_DEPTH:
        problems[path or None] = [(f"Nested deeper than {MAX_DEPTH} levels.", "too_deep")]
        return
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{_printable(key)}" if path else _printable(key)
            if "\x00" in key or len(key) > MAX_STRING_LENGTH:
                problems[child] = [_string_problem(key)]
                continue
            _walk(item, child, depth + 1, problems)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(item, f"{path}[{index}]", depth + 1, problems)
    elif isinstance(value, str) and ("\x00" in value or len(value) > MAX_STRING_LENGTH):
        problems[path or None] = [_string_problem(value)]
    elif isinstance(value, _NumberTooLarge):
        message = f"Number longer than {MAX_NUMBER_LENGTH} characters or out of range."
        problems[path or None] = [(message, "number_too_large")]


def _string_problem(text: str) -> tuple[str, str]:
    if "\x00" in text:
        return "Contains a NUL character (\\u0000), which is not allowed.", "nul_character"
    return f"Longer than {MAX_STRING_LENGTH:,} characters.", "too_long"


def _printable(key: str) -> str:
    return key[:100].replace("\x00", "\\u0000")


def _refused(problems: dict[str | None, list[tuple[str, str]]]) -> ValidationError:
    return ValidationError(
        {
            path or "non_field_errors": [ErrorDetail(message, code=code) for message, code in items]
            for path, items in problems.items()
        }
    )


class BoundedJSONParser(JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        return json_load(stream.read() if stream is not None else b"")
