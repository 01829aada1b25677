"""Normalise a parsed webhook document before validation, without corrupting it.

Works on the parsed JSON only (the raw bytes are kept untouched for signatures and the
archive) and always returns a new structure. Every string gets the text profile:

- zero-width space, BOM and bidi controls are removed (they are invisible and make equal
  values compare unequal); ZWNJ (U+200C, نیم‌فاصله) is kept byte for byte, it is part of
  the spelling of Persian names and addresses;
- NFC;
- Arabic yeh/alef maksura (ي ى) become Persian yeh (ی) and Arabic kaf (ك) Persian keheh (ک);
- surrounding whitespace is trimmed.

A field's name says its kind (docs/DESIGN.md), so some keys get more:

- ``mobile`` and ``*_phone``: digits to ASCII, spaces/dashes/parentheses dropped, and a
  mobile in international form (+98, 0098, 98) or without its 0 becomes ``09…``;
- ``*_id``, ``*_code``, ``*_number``: digits to ASCII, inner spaces and zero-width chars
  dropped;
- ``*_on``, ``*_until``, ``*_date``, ``*_at``: digits to ASCII;
- ``vehicle_plate``/``vehicle_plates``: the canonical plate ``12ب345-67``.

Strings directly inside an array take the kind of the key holding the array. Keys are
never changed, and non-string scalars (int, Decimal, bool, None) are returned as they are.
Normalising a normalised document changes nothing.

Speed: this runs on every request inside a 10 µs validation budget, so pure-ASCII strings
(most machine fields) take a ``str.isascii`` fast path, and the other strings are only
translated when a precompiled character-class search finds something to change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any, Final

__all__ = [
    "normalise_document",
    "normalise_identifier",
    "normalise_mobile",
    "normalise_plate",
    "normalise_text",
    "to_ascii_digits",
]

_PERSIAN_DIGITS: Final = "۰۱۲۳۴۵۶۷۸۹"
_ARABIC_INDIC_DIGITS: Final = "٠١٢٣٤٥٦٧٨٩"
_DIGIT_MAP: Final = {ord(ch): str(i) for i, ch in enumerate(_PERSIAN_DIGITS)} | {
    ord(ch): str(i) for i, ch in enumerate(_ARABIC_INDIC_DIGITS)
}
_DIGITS_TABLE: Final = str.maketrans(_DIGIT_MAP)

# Invisible characters that only get in the way: ZWSP, BOM, LRM/RLM, the bidi embeddings
# and overrides (LRE RLE PDF LRO RLO) and the bidi isolates (LRI RLI FSI PDI).
_INVISIBLE: Final = "\u200b\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_STRIP_INVISIBLE: Final = str.maketrans(dict.fromkeys(_INVISIBLE))
_ARABIC_LETTERS: Final = str.maketrans({"ي": "ی", "ى": "ی", "ك": "ک"})
_NEEDS_FIX: Final = re.compile(f"[{_INVISIBLE}يىك]").search

# Identifiers and phones additionally lose inner whitespace and every zero-width character
# (ZWNJ and ZWJ included: in a number they are typing accidents, not spelling). The
# whitespace list is exactly what str.isspace() accepts (a test checks it), so nothing that
# str.strip() would trim can survive inside an identifier and turn up at its edge later.
_WHITESPACE: Final = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_ZERO_WIDTH: Final = "\u200b\u200c\u200d\u2060\ufeff"
_DASHES: Final = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212"


def _deleting(chars: str, extra: dict[int, str] | None = None) -> dict[int, str | None]:
    table: dict[int, str | None] = dict(_DIGIT_MAP)
    table.update(dict.fromkeys(map(ord, chars)))
    table.update(extra or {})
    return table


_IDENTIFIER_TABLE: Final = _deleting(_WHITESPACE + _ZERO_WIDTH)
_PHONE_TABLE: Final = _deleting(_WHITESPACE + _ZERO_WIDTH + _DASHES + "()")
_PLATE_TABLE: Final = _deleting(
    _WHITESPACE + _ZERO_WIDTH + _DASHES + "_|/\\.()[]",
    # Heh look-alikes typed from Arabic or Urdu keyboards; only the plate letter ه is valid.
    {ord("ھ"): "ه", ord("ە"): "ه", ord("ہ"): "ه"},
)
_MOBILE_TAIL: Final = re.compile(r"9[0-9]{9}").fullmatch


def to_ascii_digits(text: str) -> str:
    """Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII; everything else unchanged."""
    if text.isascii():
        return text
    return text.translate(_DIGITS_TABLE)


def normalise_text(text: str) -> str:
    """The text profile: invisible controls out, NFC, Persian letters, trimmed."""
    if text.isascii():
        return text.strip()
    # Controls go first so that NFC sees base letters next to their marks; the letter map
    # goes after NFC so that ي + hamza above still composes to ئ (U+0626) instead of
    # becoming ی + a loose mark. No NFC composition starts from ی or ک (a test checks
    # every code point), so the result stays NFC and a second pass is a no-op.
    if _NEEDS_FIX(text) is not None:  # one C-level scan decides for most text
        text = text.translate(_STRIP_INVISIBLE)
        if not unicodedata.is_normalized("NFC", text):
            text = unicodedata.normalize("NFC", text)
        text = text.translate(_ARABIC_LETTERS)
    elif not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text.strip()


def _clean(text: str, table: dict[int, str | None]) -> str:
    # Deleting characters can bring a mark next to a new base letter, so the text profile
    # runs again on what is left; that second pass is what makes the result a fixed point.
    text = normalise_text(text).translate(table)
    return text if text.isascii() else normalise_text(text)


def normalise_identifier(text: str) -> str:
    """An identifier, code or number: text profile, ASCII digits, no inner spaces."""
    text = normalise_text(text)
    if text.isascii():
        parts = text.split()  # cheaper than translate for the common no-space case
        return parts[0] if len(parts) == 1 else "".join(parts)
    return normalise_text(text.translate(_IDENTIFIER_TABLE))


def _normalise_date(text: str) -> str:
    text = normalise_text(text)
    return text if text.isascii() else text.translate(_DIGITS_TABLE)


def normalise_mobile(text: str) -> str:
    """A phone number cleaned to ASCII digits; a mobile in +98/0098/98 form or without its
    leading 0 becomes the national ``09…``. Landlines (area codes never start with 9)
    only lose their spaces and dashes."""
    if len(text) == 11 and text.startswith("09") and text.isascii() and text.isdigit():
        return text  # already canonical: the common case, kept cheap
    text = _clean(text, _PHONE_TABLE)
    if text.startswith("+98"):
        tail = text[3:]
    elif text.startswith("0098"):
        tail = text[4:]
    elif text.startswith("98") and len(text) == 12:
        tail = text[2:]
    elif len(text) == 10 and text.startswith("9"):
        tail = text
    else:
        return text
    if len(tail) == 11 and tail.startswith("09"):
        tail = tail[1:]  # "+98 (0) 912 …": the trunk 0 written after the country code
    return "0" + tail if _MOBILE_TAIL(tail) is not None else text


_IRAN: Final = "ایران"
# Only letters the slow path leaves alone, so the shortcut returns what it would return.
_CANONICAL_PLATE: Final = re.compile(
    r"[0-9]{2}(?:الف|[بجدسصطقلمنوهیتعژپثزشفکگ])[0-9]{3}-[0-9]{2}"
).fullmatch
_PLATE_PARTS: Final = re.compile(r"([0-9]{2})(الف|ا|[^0-9])([0-9]{3})([0-9]{2})").fullmatch


def normalise_plate(text: str) -> str:
    """A vehicle plate to ``12ب345-67``: digits ASCII, no spaces, «ایران» and separators
    dropped, a lone «ا» written «الف». Input that is not plate-shaped is only cleaned."""
    if _CANONICAL_PLATE(text) is not None:
        return text
    cleaned = _clean(text, _PLATE_TABLE)
    province_first = cleaned.startswith(_IRAN)
    while _IRAN in cleaned:  # a loop: removing one can join the halves of another
        cleaned = cleaned.replace(_IRAN, "")
    candidates = [cleaned[2:] + cleaned[:2], cleaned] if province_first else [cleaned]
    # "ایران 67 12ب345": the province box written first, as the plate reads right to left.
    for candidate in candidates:
        parts = _PLATE_PARTS(candidate)
        if parts is not None:
            first, letter, serial, province = parts.groups()
            return f"{first}{'الف' if letter == 'ا' else letter}{serial}-{province}"
    return cleaned


_Normaliser = Callable[[str], str]

# The key → normaliser decision, remembered per key. Keys come from the sender, so the
# memo is capped instead of growing with whatever keys an attacker invents.
_KIND_MEMO: dict[Any, _Normaliser] = {}
_KIND_MEMO_MAX: Final = 4096
_ID_SUFFIXES: Final = ("_id", "_code", "_number")
_DATE_SUFFIXES: Final = ("_on", "_until", "_date", "_at")


def _normaliser_for(key: Any) -> _Normaliser:
    found = _KIND_MEMO.get(key)
    if found is not None:
        return found
    normaliser: _Normaliser
    if not isinstance(key, str):
        normaliser = normalise_text
    elif key in ("vehicle_plate", "vehicle_plates"):
        normaliser = normalise_plate
    elif key == "mobile" or key.endswith("_phone"):
        normaliser = normalise_mobile
    elif key.endswith(_ID_SUFFIXES):
        normaliser = normalise_identifier
    elif key.endswith(_DATE_SUFFIXES):
        normaliser = _normalise_date
    else:
        normaliser = normalise_text
    if len(_KIND_MEMO) < _KIND_MEMO_MAX:
        _KIND_MEMO[key] = normaliser
    return normaliser


# The two walkers below are the hot loop of every request: they test exact types first
# (JSON parsing only makes plain dict/list/str) and inline the pure-ASCII text case, which
# saves a function call for most machine fields; subclasses take the slower general path.


def _normalise_list(items: list[Any], normaliser: _Normaliser) -> list[Any]:
    out: list[Any] = []
    append = out.append
    for item in items:
        cls = item.__class__
        if cls is str:
            append(normaliser(item))
        elif cls is dict:
            append(_normalise_dict(item))
        elif cls is list:
            append(_normalise_list(item, normaliser))
        elif isinstance(item, str | dict | list):
            append(_normalise_other(item, normaliser))
        else:
            append(item)
    return out


def _normalise_dict(obj: dict[Any, Any]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    memo_get = _KIND_MEMO.get
    text = normalise_text
    for key, value in obj.items():
        cls = value.__class__
        if cls is str:
            normaliser = memo_get(key) or _normaliser_for(key)
            if normaliser is text and value.isascii():
                out[key] = value.strip()
            else:
                out[key] = normaliser(value)
        elif cls is dict:
            out[key] = _normalise_dict(value)
        elif cls is list:
            out[key] = _normalise_list(value, memo_get(key) or _normaliser_for(key))
        elif isinstance(value, str | dict | list):
            out[key] = _normalise_other(value, memo_get(key) or _normaliser_for(key))
        else:
            out[key] = value
    return out


def _normalise_other(value: Any, normaliser: _Normaliser) -> Any:
    if isinstance(value, str):
        return normaliser(str(value))
    if isinstance(value, dict):
        return _normalise_dict(value)
    if isinstance(value, list):
        return _normalise_list(value, normaliser)
    return value  # numbers, Decimal, bool, None: immutable, shared with the input


def normalise_document(doc: Any) -> Any:
    """A normalised copy of a parsed JSON document (the input is never modified)."""
    return _normalise_other(doc, normalise_text)
