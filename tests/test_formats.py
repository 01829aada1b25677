"""Format checkers shared by jsonschema and jsonschema-rs, and their explanations."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from jsonschema import Draft202012Validator, FormatChecker

from chalicelib.formats import CHECKS, explain, is_email

EXPECTED_FORMATS = {
    "iran-national-id", "iran-legal-id", "iran-postal-code", "iran-mobile",
    "iran-vehicle-plate", "jalali-date", "licence-date", "isic-activity-code",
    "date", "date-time", "email",
}  # fmt: skip

SAMPLES: dict[str, tuple[list[str], list[str]]] = {
    "iran-national-id": (["0084575948", "1583250689"], ["68415941", "1111111111", "۰۰۸۴۵۷۵۹۴۸"]),
    "iran-legal-id": (["10380284790"], ["10380284792", "1038028479"]),
    "iran-postal-code": (["1193653471", "1203456789"], ["123456789", "11936-53471"]),
    "iran-mobile": (["09122002580", "09802002580"], ["+989122002580", "9122002580"]),
    "iran-vehicle-plate": (["12ب345-67", "12الف345-67"], ["12 ب 345 - 67", "12A345-67"]),
    "jalali-date": (["1403/12/30", "1403-12-30"], ["1402/12/30", "2025-03-20"]),
    "licence-date": (["2025-03-20", "1403/12/30"], ["1404/12/30", "2023-02-29", "20250320"]),
    "isic-activity-code": (["5610", "011101"], ["0411", "56"]),
    "date": (["2024-02-29"], ["2023-02-29", "1403/12/30"]),
    "date-time": (["2025-03-20T10:15:00+03:30", "2025-03-20T06:45:00Z"], ["2025-03-20T10:15:00"]),
    "email": (["a.mohammadi@example.ir", "x+tag@mail.tehran.ir"], ["a@b", "a..b@example.ir"]),
}


def test_all_formats_present() -> None:
    assert set(CHECKS) == EXPECTED_FORMATS == set(SAMPLES)


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_checks(name: str) -> None:
    good, bad = SAMPLES[name]
    for value in good:
        assert CHECKS[name](value), value
    for value in bad:
        assert not CHECKS[name](value), value


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
@pytest.mark.parametrize("value", [1583250689, 12.5, None, True, ["x"], {"a": 1}])
def test_non_strings_pass_format_checks(name: str, value: Any) -> None:
    # JSON Schema semantics: formats constrain strings; `type` rejects the rest.
    assert CHECKS[name](value) is True


def _jsonschema_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    for name, check in CHECKS.items():
        checker.checks(name)(check)
    return checker


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_both_engines_agree(name: str) -> None:
    schema = {"type": "string", "format": name}
    python = Draft202012Validator(schema, format_checker=_jsonschema_checker())
    rust = jsonschema_rs.validator_for(
        schema, formats=dict(CHECKS), validate_formats=True, ignore_unknown_formats=False
    )
    good, bad = SAMPLES[name]
    for value in good:
        assert python.is_valid(value) and rust.is_valid(value), value
    for value in bad:
        assert not python.is_valid(value) and not rust.is_valid(value), value


def test_number_national_id_rejected_by_type() -> None:
    schema = {"type": "string", "format": "iran-national-id"}
    assert not Draft202012Validator(schema, format_checker=_jsonschema_checker()).is_valid(
        1583250689
    )


@pytest.mark.parametrize(
    ("name", "value", "english"),
    [
        ("iran-national-id", "0084575949", "national id check digit should be 8, got 9"),
        (
            "iran-national-id",
            "68415941",
            "8 digits: leading zeros missing? send the 10-digit code as a string",
        ),
        ("iran-national-id", "1111111111", "national id cannot be ten identical digits"),
        ("iran-national-id", "0010000000", "national id digits 4-9 cannot all be zero"),
        ("iran-legal-id", "10380284792", "legal-entity id check digit should be 0, got 2"),
        ("iran-postal-code", "123456789", "postal code must be exactly 10 digits, got 9"),
        ("jalali-date", "1402/12/30", "1402 is not a leap year: Esfand has 29 days"),
        ("licence-date", "1404/12/30", "1404 is not a leap year: Esfand has 29 days"),
        ("licence-date", "2023-02-29", "2023-02-29 is not a real date"),
        ("isic-activity-code", "0411", "04 is not an ISIC Rev.4 division"),
        ("date-time", "2025-03-20T10:15:00", "date-time has no offset: add Z or +03:30 (Tehran)"),
    ],
)
def test_explain(name: str, value: str, english: str) -> None:
    en, fa = explain(name, value)
    assert en == english
    assert fa and any("\u0600" <= ch <= "\u06ff" for ch in fa)


@pytest.mark.parametrize("name", sorted(EXPECTED_FORMATS))
def test_explain_every_failure(name: str) -> None:
    for value in SAMPLES[name][1]:
        en, fa = explain(name, value)
        assert en and fa
        if name in ("iran-national-id", "iran-mobile"):
            assert value not in en + fa  # ids and phones are never echoed


def test_explain_unknown_format() -> None:
    assert explain("no-such-format", "x")[0] == "does not match format 'no-such-format'"


@pytest.mark.parametrize(
    "address",
    ["a@example.ir", "first.last@sub.example.co.ir", "o'neil@example.com", "x@xn--mgba3a4f16a.ir"],
)
def test_email_ok(address: str) -> None:
    assert is_email(address)


@pytest.mark.parametrize(
    "address",
    ["", "a", "a@", "@example.ir", "a@example", ".a@example.ir", "a.@example.ir",
     "a b@example.ir", "a@-example.ir", "a@example.123", "علی@example.ir",
     "a" * 65 + "@example.ir", "a@" + "b" * 250 + ".ir"],
)  # fmt: skip
def test_email_refused(address: str) -> None:
    assert not is_email(address)
