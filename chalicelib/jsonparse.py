"""Strict JSON parsing for bodies we are paid to keep exact.

Non-integral numbers parse as Decimal (money and coordinates never pass through float),
NaN/Infinity are refused (not JSON), and a duplicated key is an error rather than a
silent last-one-wins: two systems reading the same body must not see different values.
Strings (keys too) must be text we can keep and forward: no lone surrogates (RFC 7493, I-JSON:
they have no UTF-8 form, so no log line, stored item or answer could hold them) and no
control characters but tab, LF and CR (XML 1.0, and so the portal's SOAP, cannot carry them).
"""

from __future__ import annotations

import json
import math
import re
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


# The parser refuses raw control characters, and a raw surrogate cannot survive UTF-8
# decoding, so these can only arrive as \u escapes: one search of the text decides, and the
# walk that names the string runs only when it finds one.
# U+FFFE and U+FFFF (XML excludes them too) can also arrive raw.
_SUSPECT = re.compile(
    r"\\u(?:00[01][0-9a-f]|d[89a-f][0-9a-f]{2}|fff[ef])|[\ufffe\uffff]", re.IGNORECASE
)
_UNKEEPABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _pointer_part(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _check_text(value: Any) -> None:
    """Raise JsonParseError naming the first string (or key) holding an unkeepable char."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        pointer, item = stack.pop()
        if isinstance(item, str):
            found = _UNKEEPABLE.search(item)
            if found is not None:
                # The pointer goes into the answer: its own bad characters are escaped.
                where = _UNKEEPABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", pointer) or "/"
                raise JsonParseError(
                    f"the string at {where} holds U+{ord(found.group()):04X}, "
                    "which is not text we can keep (a control character or a lone surrogate)"
                )
        elif isinstance(item, dict):
            for key, child in item.items():
                stack.append((f"{pointer}/{_pointer_part(key)}", key))
                stack.append((f"{pointer}/{_pointer_part(key)}", child))
        elif isinstance(item, list):
            stack.extend((f"{pointer}/{n}", child) for n, child in enumerate(item))


def parse_json(raw: bytes | str) -> Any:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as error:
        raise JsonParseError("body is not UTF-8", error.start) from None
    try:
        value = json.loads(
            text,
            parse_float=Decimal,
            parse_constant=_refuse_constant,
            object_pairs_hook=_no_duplicates,
        )
    except JsonParseError:
        raise
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise JsonParseError(f"{error.msg} ({where})", error.pos) from None
    # The caller reads our message, not Python's (which names interpreter settings).
    except RecursionError:
        raise JsonParseError("the document is nested too deeply") from None
    except ValueError:  # an integer beyond the interpreter's digit limit (4,300)
        raise JsonParseError("a number has too many digits") from None
    if _SUSPECT.search(text) is not None:
        _check_text(value)
    return value


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
