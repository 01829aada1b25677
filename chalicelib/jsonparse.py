"""Strict JSON parsing for bodies we are paid to keep exact.

Non-integral numbers parse as Decimal (money and coordinates never pass through float),
NaN/Infinity are refused (not JSON), and a duplicated key is an error rather than a
silent last-one-wins: two systems reading the same body must not see different values.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


class JsonParseError(ValueError):
    """The body is not one well-formed JSON document."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise JsonParseError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _refuse_constant(name: str) -> Any:
    raise JsonParseError(f"{name} is not valid JSON")


def parse_json(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise JsonParseError("body is not UTF-8", error.start) from None
    try:
        return json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except json.JSONDecodeError as error:
        raise JsonParseError(error.msg, error.pos) from None
