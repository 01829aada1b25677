"""Identifier checks against every public vector in DOMAIN.md §1.1-1.4 (tests/vectors/)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from chalicelib import identifiers as ids
from chalicelib.normalise import normalise_document, normalise_mobile, to_ascii_digits

VECTORS = Path(__file__).parent / "vectors"
ISIC_CSV = (
    Path(__file__).resolve().parents[2] / "shared" / "data" / "isic" / "isic_rev4_en_flat.csv"
)


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


NATIONAL = load("national_ids.json")["vectors"]
LEGAL = load("legal_ids.json")["vectors"]
POSTAL = load("postal_codes.json")["vectors"]
MOBILES = load("mobiles.json")


def _library_view(value: str | None) -> bool:
    """What the libraries answer: digits normalised, 8-9 digits left-padded, then our rules."""
    if not isinstance(value, str):
        return False
    value = to_ascii_digits(value)
    if value.isascii() and value.isdigit() and len(value) in (8, 9):
        value = value.zfill(10)
    return ids.is_national_id(value)


@pytest.mark.parametrize("vector", NATIONAL, ids=lambda v: repr(v["input"]))
def test_national_id_ours(vector: dict[str, Any]) -> None:
    # Ours runs after normalisation, exactly as validation does.
    value = normalise_document({"national_id": vector["input"]})["national_id"]
    assert ids.is_national_id(value) is vector["ours"]
    assert (ids.national_id_problem(value) is None) is vector["ours"]


@pytest.mark.parametrize("vector", NATIONAL, ids=lambda v: repr(v["input"]))
def test_national_id_library_view(vector: dict[str, Any]) -> None:
    assert _library_view(vector["input"]) is vector["library"]


def test_raw_persian_digits_are_not_ascii_digits() -> None:
    # The \d pitfall: Python calls these digits; our checks must not.
    raw = "۰۰۸۴۵۷۵۹۴۸"
    assert raw.isdigit()
    assert not ids.is_national_id(raw)
    problem = ids.national_id_problem(raw)
    assert problem is not None and "ASCII" in problem.en
    assert ids.is_national_id(to_ascii_digits(raw))


def test_national_id_rejects_numbers_and_explains_padding() -> None:
    assert not ids.is_national_id(1583250689)
    assert not ids.is_national_id(84575948)
    problem = ids.national_id_problem("68415941")
    assert problem is not None
    assert problem.en == "8 digits: leading zeros missing? send the 10-digit code as a string"
    number = ids.national_id_problem(1583250689)
    assert number is not None and "string" in number.en


def test_national_id_check_digit_message() -> None:
    problem = ids.national_id_problem("0084575949")
    assert problem is not None
    assert problem.en == "national id check digit should be 8, got 9"
    assert "۸" in problem.fa and "۹" in problem.fa
    assert "0084575949" not in problem.en + problem.fa


def test_every_repdigit_is_rejected_though_its_checksum_passes() -> None:
    for digit in "123456789":
        value = digit * 10
        assert int(value[9]) == ids.national_id_check_digit(value)
        assert not ids.is_national_id(value)


@pytest.mark.parametrize("vector", LEGAL, ids=lambda v: v["input"])
def test_legal_id(vector: dict[str, Any]) -> None:
    assert ids.is_legal_id(vector["input"]) is vector["valid"]
    assert (ids.legal_id_problem(vector["input"]) is None) is vector["valid"]


def test_legal_id_worked_example() -> None:
    assert ids.legal_id_check_digit("10380284790") == 0
    problem = ids.legal_id_problem("10380284792")
    assert problem is not None and problem.en.endswith("should be 0, got 2")


@pytest.mark.parametrize("vector", POSTAL, ids=lambda v: v["input"])
def test_postal_code(vector: dict[str, Any]) -> None:
    assert ids.is_postal_code(vector["input"]) is vector["valid"]
    assert bool(ids.postal_code_warnings(vector["input"])) is vector["soft_warnings"]


def test_postal_code_ascii_only() -> None:
    assert not ids.is_postal_code("۱۱۹۳۶۵۳۴۷۱")
    assert ids.is_postal_code(to_ascii_digits("۱۱۹۳۶۵۳۴۷۱"))


@pytest.mark.parametrize("value", MOBILES["valid_national"])
def test_mobile_national_form(value: str) -> None:
    assert ids.is_mobile(value)
    assert ids.mobile_operator(value) is not None


@pytest.mark.parametrize("vector", MOBILES["normalise"], ids=lambda v: v["input"])
def test_mobile_normalisation(vector: dict[str, str]) -> None:
    assert not ids.is_mobile(vector["input"]) or vector["input"] == vector["national"]
    assert normalise_mobile(vector["input"]) == vector["national"]
    assert ids.is_mobile(normalise_mobile(vector["input"]))


@pytest.mark.parametrize("vector", MOBILES["operators"], ids=lambda v: v["input"])
def test_mobile_operator(vector: dict[str, Any]) -> None:
    operator = ids.mobile_operator(vector["input"])
    assert (operator[0] if operator else None) == vector["operator"]
    if "ours_valid" in vector:  # unknown prefix: the library rejects, we only lack a name
        assert ids.is_mobile(vector["input"]) is vector["ours_valid"]


@pytest.mark.parametrize("vector", MOBILES["no_match"], ids=lambda v: v["input"])
def test_mobile_no_match(vector: dict[str, str]) -> None:
    assert not ids.is_mobile(normalise_mobile(vector["input"]))
    assert ids.mobile_operator(vector["input"]) is None


def test_operator_table_matches_the_vector_file() -> None:
    expected: dict[str, set[str]] = {}
    for name, spans in MOBILES["operator_table"].items():
        for span in spans:
            start, _, end = span.partition("-")
            expected.setdefault(name, set()).update(
                str(n) for n in range(int(start), int(end or start) + 1)
            )
    actual: dict[str, set[str]] = {}
    for prefix, (name, _fa) in ids.MOBILE_OPERATORS.items():
        actual.setdefault(name, set()).add(prefix)
    assert actual == expected


@pytest.mark.parametrize(
    ("plate", "valid"),
    [
        ("12ب345-67", True),
        ("12الف345-67", True),
        ("99ت999-10", True),
        ("12ژ345-67", True),
        ("12ا345-67", False),  # lone alef: normalisation writes «الف»
        ("12A345-67", False),
        ("12ك345-67", False),  # Arabic kaf: normalisation writes ک
        ("12ب34567", False),
        ("۱۲ب۳۴۵-۶۷", False),
        ("123ب45-67", False),
        ("", False),
    ],
)
def test_vehicle_plate(plate: str, valid: bool) -> None:
    assert ids.is_vehicle_plate(plate) is valid
    assert (ids.vehicle_plate_problem(plate) is None) is valid


def test_vehicle_plate_letter_message() -> None:
    problem = ids.vehicle_plate_problem("12A345-67")
    assert problem is not None and "'A' is not a plate letter" in problem.en


def test_plate_letters_are_the_documented_set() -> None:
    assert set("بجدسصطقلمنوهیتعژپثزشفکگ") | {"الف"} == ids.PLATE_LETTERS
    assert len(ids.PLATE_LETTERS) == 24


@pytest.mark.parametrize(
    ("code", "valid"),
    [("5610", True), ("4922", True), ("011101", True), ("01111", True), ("0111", True),
     ("0411", False), ("4000", False), ("561", False), ("5610123", False), ("۵۶۱۰", False),
     ("56 10", False)],
)  # fmt: skip
def test_isic_activity_code(code: str, valid: bool) -> None:
    assert ids.is_isic_activity_code(code) is valid
    assert (ids.isic_activity_code_problem(code) is None) is valid


def test_isic_divisions_match_the_un_table() -> None:
    if not ISIC_CSV.exists():
        pytest.skip(f"{ISIC_CSV} is not present")
    with ISIC_CSV.open(encoding="utf-8", newline="") as fh:
        divisions = {row["code"] for row in csv.DictReader(fh) if row["level"] == "division"}
    assert len(ids.ISIC_DIVISIONS) == 88
    assert divisions == ids.ISIC_DIVISIONS


@pytest.mark.parametrize(
    "check",
    [ids.is_national_id, ids.is_legal_id, ids.is_postal_code, ids.is_mobile,
     ids.is_vehicle_plate, ids.is_isic_activity_code],
)  # fmt: skip
def test_non_strings_are_rejected(check: Any) -> None:
    for value in (None, 84575948, 1.5, ["0084575948"], {"a": 1}, b"0084575948", True):
        assert check(value) is False
