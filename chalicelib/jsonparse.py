"""Strict JSON parsing for bodies we are paid to keep exact.

Non-integral numbers parse as Decimal (money and coordinates never pass through float),
NaN/Infinity are refused (not JSON), and a duplicated key is an error rather than a
silent last-one-wins: two systems reading the same body must not see different values.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

__all__ = ["JsonParseError", "encode_json", "parse_json"]


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


# --- out ---------------------------------------------------------------------------------

_encode_string = json.encoder.encode_basestring


def encode_json(value: Any) -> bytes:
    """Compact UTF-8 JSON, Persian as-is (no \\u escapes), numbers exact.

    Decimal integers become JSON integers, other Decimals their exact decimal text: json.dumps
    would either refuse Decimal or round it through float.
    """
    out: list[str] = []
    _encode(value, out)
    return "".join(out).encode("utf-8")


def _encode(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_encode_string(value))
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("non-finite number")
        out.append(str(int(value)) if value == value.to_integral_value() else str(value))
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("non-finite number")
        out.append(float.__repr__(value))
    elif isinstance(value, Mapping):
        out.append("{")
        first = True
        for key, item in value.items():
            if not first:
                out.append(",")
            first = False
            out.append(_encode_string(str(key)))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for number, item in enumerate(value):
            if number:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__}")
