"""The validation pipeline over the bundled examples and generated payloads."""

from __future__ import annotations

import contextlib
import copy
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from chalicelib.licence_types import CODES
from chalicelib.validation import default_validator, validate_event
from tests.examples_index import expected_pointers, invalid_examples, load, valid_examples


def _id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


def test_every_type_has_examples() -> None:
    valid_types = {p.parent.name for p in valid_examples()}
    invalid_types = {p.parent.name for p in invalid_examples()}
    assert valid_types == set(CODES)
    assert invalid_types == set(CODES)


@pytest.mark.parametrize("path", valid_examples(), ids=_id)
def test_valid_example_is_accepted_and_canonical(path: Path) -> None:
    result = validate_event(load(path))
    assert result.issues == ()
    assert result.ok
    licence = result.document["licence"]
    assert licence["licence_type"] == path.parent.name
    validity = licence.get("validity")
    if validity:  # Jalali input is stored as ISO Gregorian
        for key in ("issued_on", "valid_until"):
            year = int(validity[key][:4])
            assert validity[key][4] == "-" and 1990 < year < 2200


@pytest.mark.parametrize("path", invalid_examples(), ids=_id)
def test_invalid_example_reports_exactly_its_defects(path: Path) -> None:
    result = validate_event(load(path))
    assert not result.ok
    assert sorted({i.pointer for i in result.issues}) == expected_pointers(path)
    for issue in result.issues:
        assert issue.message and issue.message_fa and issue.rule


def _example(code: str = "FOOD_TRUCK") -> Any:
    return load(next(p for p in valid_examples() if p.parent.name == code))


def test_every_error_is_reported_not_only_the_first() -> None:
    event = _example()
    del event["licence"]["business"]
    event["licence"]["location"]["district"] = 23
    event["licence"]["holder"]["mobile"] = "12345"
    event["licence"]["unknown_field"] = 1
    result = validate_event(event)
    pointers = [i.pointer for i in result.issues]
    assert pointers == sorted(pointers)
    assert {
        "/licence/business",
        "/licence/location/district",
        "/licence/holder/mobile",
        "/licence/unknown_field",
    } <= set(pointers)


def test_national_id_value_is_masked_in_issues() -> None:
    event = _example()
    event["licence"]["holder"] = {
        **event["licence"]["holder"],
        "kind": "person",
        "national_id": "0084575949",
    }
    result = validate_event(event)
    issue = next(i for i in result.issues if i.pointer == "/licence/holder/national_id")
    assert issue.rule == "format:iran-national-id"
    assert issue.value != "0084575949"
    assert "0084575949" not in repr(result.issues)


def test_persian_digits_and_arabic_letters_are_normalised_before_validation() -> None:
    event = _example()
    holder = event["licence"]["holder"]
    if holder["kind"] != "person":
        pytest.skip("example holder is an organisation")
    ascii_id = validate_event(event).document["licence"]["holder"]["national_id"]
    holder["national_id"] = ascii_id.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    holder["last_name"] = "علي" + "كرمي"
    result = validate_event(event)
    assert result.ok, result.issues
    assert result.document["licence"]["holder"]["national_id"] == ascii_id
    assert result.document["licence"]["holder"]["last_name"] == "علی" + "کرمی"


def test_jalali_leap_day_converts_and_impossible_one_is_rejected() -> None:
    event = _example()
    event["licence"].setdefault("validity", {})
    event["licence"]["validity"]["issued_on"] = "1403/12/30"
    event["licence"]["validity"]["valid_until"] = "1404/12/29"
    result = validate_event(event)
    assert result.ok, result.issues
    assert result.document["licence"]["validity"] == {
        "issued_on": "2025-03-20",
        "valid_until": "2026-03-20",
    }
    event["licence"]["validity"]["issued_on"] = "1402/12/30"
    result = validate_event(event)
    assert [i.pointer for i in result.issues] == ["/licence/validity/issued_on"]


def test_amounts_stay_exact_decimal_or_int() -> None:
    event = _example()
    event["licence"]["fees"] = [{"kind": "issuance", "amount_rials": 125_000_000_000}]
    result = validate_event(event)
    assert result.ok
    assert result.document["licence"]["fees"][0]["amount_rials"] == 125_000_000_000
    event["licence"]["fees"][0]["amount_rials"] = Decimal("1.5")
    assert [i.rule for i in validate_event(event).issues] == ["type"]


# --- the two engines agree ------------------------------------------------------------------

_MUTATIONS = (
    lambda d, r: d["licence"].pop(r.choice(sorted(d["licence"]))),
    lambda d, r: d["licence"]["holder"].update(national_id=str(r.randrange(10**9, 10**10))),
    lambda d, r: d["licence"]["location"].update(district=r.choice([0, 1, 22, 23, "5"])),
    lambda d, r: d["licence"]["attributes"].update({r.choice(["x", "colour", "note"]): "?"}),
    lambda d, r: d["licence"]["attributes"].pop(r.choice(sorted(d["licence"]["attributes"]))),
    lambda d, r: d["licence"].update(version=r.choice([0, 1, -3, "2", Decimal("1.5")])),
    lambda d, r: d["licence"]["fees"].append(
        {"kind": "issuance", "amount_rials": r.choice([-1, 0, 10**12])}
    ),
    lambda d, r: d.update(event_type=r.choice(["licence.issued", "licence.unknown", "issued"])),
    lambda d, r: d.update(
        occurred_at=r.choice(["2025-03-20T10:00:00+03:30", "2025-03-20T10:00:00", "x"])
    ),
    lambda d, r: d["licence"]["location"].update(postal_code=str(r.randrange(10**8, 10**11))),
    lambda d, r: (
        d["licence"]
        .setdefault("validity", {})
        .update(
            issued_on=r.choice(
                ["1403/12/30", "1402/12/30", "2025-02-30", "2025-03-01", "1404-01-01"]
            )
        )
    ),
    lambda d, r: d["licence"]["holder"].update(
        mobile=r.choice(["09121234567", "0912123456", "+989121234567"])
    ),
)


def _generated(count: int, seed: int = 7) -> list[Any]:
    rng = random.Random(seed)
    bases = [load(p) for p in valid_examples()]
    payloads = []
    for _ in range(count):
        payload = copy.deepcopy(rng.choice(bases))
        for mutate in rng.sample(_MUTATIONS, rng.randint(0, 3)):
            # A mutation that does not fit this type's shape is simply skipped.
            with contextlib.suppress(KeyError, IndexError, AttributeError, TypeError):
                mutate(payload, rng)
        payloads.append(payload)
    return payloads


_EDGE_DATE_TIMES = (
    "2016-12-31T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "2025-03-20t10:15:00z",
    "2025-03-20T10:15:00.123456789-00:00",
    "2025-03-20 10:15:00Z",
    "2025-03-20T10:15:00+24:00",
)
_EDGE_COORDINATES = (
    {"lat": Decimal("35.55"), "lon": Decimal("51.65")},
    {"lat": Decimal("35.5499999"), "lon": 51},
    {"lat": 35.7, "lon": True},
    {"lat": "35.7", "lon": 51.3},
    {"lat": 36},
    {"lat": 35.7, "lon": 51.3, "alt": 1},
)


def test_engines_agree_on_edge_date_times_and_coordinates() -> None:
    from chalicelib.normalise import normalise_document

    validator = default_validator()
    base = _example()
    for value in _EDGE_DATE_TIMES:
        event = {**copy.deepcopy(base), "occurred_at": value}
        document = normalise_document(event)
        assert validator.is_valid(document) == (not validator.issues(document)), value
    for coordinates in _EDGE_COORDINATES:
        event = copy.deepcopy(base)
        event["licence"]["location"]["coordinates"] = coordinates
        document = normalise_document(event)
        assert validator.is_valid(document) == (not validator.issues(document)), coordinates


def test_compiled_and_reference_engines_give_the_same_verdicts() -> None:
    from chalicelib.normalise import normalise_document

    validator = default_validator()
    payloads = [load(p) for p in valid_examples() + invalid_examples()] + _generated(3000)
    verdicts = {True: 0, False: 0}
    for payload in payloads:
        document = normalise_document(payload)
        fast = validator.is_valid(document)
        reference = not validator.issues(document)
        assert fast == reference, document
        verdicts[fast] += 1
    # The generated set must exercise both verdicts, or the comparison proves little.
    assert verdicts[True] > 300 and verdicts[False] > 1000
