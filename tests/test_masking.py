"""Masking of national ids and phones in issue values and log lines."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chalicelib.masking import (
    is_sensitive_key,
    mask_national_id,
    mask_phone,
    mask_text,
    mask_value,
)


def test_national_id() -> None:
    assert mask_national_id("0084575948") == "00******48"
    assert mask_national_id("10380284790") == "10*******90"
    assert mask_national_id("68415941") == "68****41"
    assert mask_national_id("123") == "***"


def test_phone() -> None:
    assert mask_phone("09122002580") == "0912***2580"
    assert mask_phone("+989122002580") == "+989*****2580"
    assert mask_phone("02188881234") == "0218***1234"
    assert mask_phone("12345") == "*****"


@pytest.mark.parametrize(
    ("pointer", "value", "expected"),
    [
        ("/licence/holder/national_id", "0084575948", "00******48"),
        ("national_id", 84575948, "84****48"),
        ("/licence/holder/representative/national_id", "0084575948", "00******48"),
        ("/licence/holder/mobile", "09122002580", "0912***2580"),
        ("office_phone", "02188881234", "0218***1234"),
        ("/licence/holder/first_name", "علی", "علی"),
        ("/licence/tracking_code", "1403512345", "1403512345"),
        ("national_id", None, None),
        ("national_id", True, True),
        ("national_id", Decimal("84575948"), "84****48"),
        ("", "0084575948", "0084575948"),
    ],
)
def test_mask_value(pointer: str, value: object, expected: object) -> None:
    assert mask_value(pointer, value) == expected


def test_mask_value_inside_objects_and_arrays() -> None:
    holder = {
        "kind": "person",
        "national_id": "0084575948",
        "mobile": "09122002580",
        "representative": {"national_id": "0499370899", "first_name": "سارا"},
        "contacts": [{"office_phone": "02188881234"}],
    }
    assert mask_value("/licence/holder", holder) == {
        "kind": "person",
        "national_id": "00******48",
        "mobile": "0912***2580",
        "representative": {"national_id": "04******99", "first_name": "سارا"},
        "contacts": [{"office_phone": "0218***1234"}],
    }
    assert holder["national_id"] == "0084575948"  # the input is not modified
    assert mask_value("/x/mobile", ["09122002580"]) == ["0912***2580"]


def test_pointer_escapes_and_sensitive_keys() -> None:
    assert is_sensitive_key("/a~1b/national_id")
    assert is_sensitive_key("mobile") and is_sensitive_key("/x/home_phone")
    assert not is_sensitive_key("/licence/tracking_code")
    assert not is_sensitive_key("national_id/0")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("holder 0084575948 refused", "holder 00******48 refused"),
        ("call 09122002580 now", "call 0912***2580 now"),
        ("call +989122002580.", "call +989*****2580."),
        ("legal 10380284790", "legal 10*******90"),
        ("persian ۰۰۸۴۵۷۵۹۴۸", "persian ۰۰******۴۸"),
        ("short 123456789 stays", "short 123456789 stays"),
        ("district 05 version 3", "district 05 version 3"),
        ("a=0084575948,b=09122002580", "a=00******48,b=0912***2580"),
    ],
)
def test_mask_text(line: str, expected: str) -> None:
    assert mask_text(line) == expected
