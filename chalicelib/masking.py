"""Masking of national ids and phone numbers in error values and log lines.

National and legal ids keep their first and last two digits (``00******48``): enough for a
person to recognise their own number, not enough to reuse it. Phones keep the first four
and last four (``0912***2580``), which shows the operator and lets support match a number
the citizen reads out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

__all__ = ["is_sensitive_key", "mask_national_id", "mask_phone", "mask_text", "mask_value"]


def mask_national_id(value: str) -> str:
    """``0084575948`` → ``00******48``; short values are masked completely."""
    if len(value) < 6:
        return "*" * len(value)
    return value[:2] + "*" * (len(value) - 4) + value[-2:]


def mask_phone(value: str) -> str:
    """``09122002580`` → ``0912***2580``; shorter numbers keep less."""
    if len(value) >= 11:
        return value[:4] + "*" * (len(value) - 8) + value[-4:]
    return mask_national_id(value)


def _last_segment(pointer_or_key: str) -> str:
    segment = pointer_or_key.rpartition("/")[2]
    return segment.replace("~1", "/").replace("~0", "~")


def is_sensitive_key(pointer_or_key: str) -> bool:
    """Whether a key (or the last segment of a JSON pointer) names an id or a phone."""
    return _masker(_last_segment(pointer_or_key)) is not None


def _masker(key: str) -> Callable[[str], str] | None:
    if key == "national_id" or key.endswith("_national_id"):
        return mask_national_id
    if key in ("mobile", "phone") or key.endswith(("_mobile", "_phone")):
        return mask_phone
    return None


def mask_value(pointer_or_key: str, value: Any) -> Any:
    """``value`` with national ids and phones masked, judged by their key.

    A number under such a key is masked as its decimal text (an id sent as a JSON number
    is still someone's id). Objects and arrays are masked inside, by their own keys, so a
    whole ``holder`` object can be shown safely. Other values come back unchanged.
    """
    masker = _masker(_last_segment(pointer_or_key)) if pointer_or_key else None
    if masker is not None and isinstance(value, str | int) and not isinstance(value, bool):
        return masker(str(value))
    if isinstance(value, dict):
        return {k: mask_value(k, v) if isinstance(k, str) else v for k, v in value.items()}
    if isinstance(value, list):
        return [mask_value(pointer_or_key, item) for item in value]
    if masker is not None and not isinstance(value, bool | type(None)):
        return mask_national_id(str(value))  # Decimal, float: same rule as text
    return value


_DIGIT: Final = "0-9۰-۹٠-٩"
# Runs of 10 or more digits (ids, phones with or without +98, card numbers), with an
# optional leading +, not glued to other digits. Persian digits count: log lines may carry
# raw input.
_DIGIT_RUN: Final = re.compile(rf"(?<![{_DIGIT}])\+?[{_DIGIT}]{{10,}}(?![{_DIGIT}])")
_PHONE_LIKE: Final = re.compile(rf"(?:\+|00)?(?:98|[0۰٠])?[9۹٩][{_DIGIT}]{{9}}")


def _mask_run(match: re.Match[str]) -> str:
    run = match.group(0)
    if _PHONE_LIKE.fullmatch(run) is not None and len(run) >= 11:
        return mask_phone(run)
    return mask_national_id(run)


def mask_text(text: str) -> str:
    """Free text (a log line) with every run of 10+ digits masked."""
    return _DIGIT_RUN.sub(_mask_run, text)
