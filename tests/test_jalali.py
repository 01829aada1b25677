"""Jalali calendar, licence dates, RFC 3339 and Asia/Tehran against DOMAIN.md §2 and §5."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jdatetime
import pytest

from chalicelib import jalali

VECTORS = Path(__file__).parent / "vectors"


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text(encoding="utf-8"))


PAIRS = load("jalali_pairs.json")
VALIDITY = load("jalali_validity.json")
OFFSETS = load("tehran_offsets.json")


def _in_range(jalali_text: str) -> bool:
    return jalali.JALALI_MIN_YEAR <= int(jalali_text[:4]) <= jalali.JALALI_MAX_YEAR


@pytest.mark.parametrize("pair", PAIRS["pairs"], ids=lambda p: p["jalali"])
def test_pairs_both_directions(pair: dict[str, str]) -> None:
    gregorian = date.fromisoformat(pair["gregorian"])
    # Gregorian -> Jalali holds for every pair, whatever our accepted range.
    assert jalali.gregorian_to_jalali(gregorian) == pair["jalali"]
    if _in_range(pair["jalali"]):
        assert jalali.parse_jalali(pair["jalali"]) == gregorian
        assert jalali.parse_jalali(pair["jalali"].replace("/", "-")) == gregorian
        assert jalali.to_iso_date(pair["jalali"]) == pair["gregorian"]
    else:
        # 1210 and 1505 are real dates but outside what we accept (libraries disagree
        # from 1502 on); the conversion library itself still agrees with the vector.
        assert jalali.parse_jalali(pair["jalali"]) is None
        y, m, d = (int(x) for x in pair["jalali"].split("/"))
        assert jdatetime.date(y, m, d).togregorian() == gregorian


@pytest.mark.parametrize("row", PAIRS["nowruz"], ids=lambda r: str(r["year"]))
def test_nowruz(row: dict[str, Any]) -> None:
    assert jalali.parse_jalali(f"{row['year']}/01/01") == date.fromisoformat(row["farvardin_1"])
    assert jalali.is_jalali_leap(row["year"]) is row["leap"]


@pytest.mark.parametrize("row", PAIRS["official_vs_khayyam"], ids=lambda r: r["gregorian"])
def test_official_calendar_not_khayyam(row: dict[str, str]) -> None:
    assert jalali.gregorian_to_jalali(date.fromisoformat(row["gregorian"])) == row["official"]


@pytest.mark.parametrize("year", VALIDITY["leap_years"])
def test_leap_years(year: int) -> None:
    assert jalali.is_jalali_leap(year)
    assert jalali.jalali_month_length(year, 12) == 30


@pytest.mark.parametrize("year", VALIDITY["common_years"])
def test_common_years(year: int) -> None:
    assert not jalali.is_jalali_leap(year)
    assert jalali.jalali_month_length(year, 12) == 29


@pytest.mark.parametrize("text", VALIDITY["valid_dates"])
def test_valid_dates(text: str) -> None:
    y, m, d = (int(x) for x in text.split("/"))
    jdatetime.date(y, m, d)  # a real date in the calendar
    assert jalali.is_jalali_date(text) is _in_range(text)


@pytest.mark.parametrize("text", VALIDITY["invalid_dates"])
def test_invalid_dates(text: str) -> None:
    assert not jalali.is_jalali_date(text)
    assert not jalali.is_licence_date(text)
    with pytest.raises(ValueError):
        jalali.to_iso_date(text)


def test_golden_days() -> None:
    for text in VALIDITY["golden_leap_days"] + VALIDITY["golden_last_days"]:
        assert jalali.is_jalali_date(text)
    assert not jalali.is_jalali_date("1404/12/30")
    assert jalali.parse_jalali("1403/12/30") == date(2025, 3, 20)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1300/01/01", True),
        ("1499/12/29", True),
        ("1299/12/29", False),
        ("1500/01/01", False),
        ("1403/1/5", False),  # two-digit month and day, as documented
        ("1403/01-05", False),  # mixed separators
        ("۱۴۰۳/۱۲/۳۰", False),  # Persian digits: normalisation converts them first
        ("1403.12.30", False),
        (" 1403/12/30", False),
        (14031230, False),
    ],
)
def test_jalali_shapes(text: object, expected: bool) -> None:
    assert jalali.is_jalali_date(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-20", "2025-03-20"),
        ("1900-01-01", "1900-01-01"),
        ("2199-12-31", "2199-12-31"),
        ("1403-12-30", "2025-03-20"),  # Jalali written with dashes
        ("1403/12/30", "2025-03-20"),
        ("2024-02-29", "2024-02-29"),
        ("2023-02-29", None),
        ("2200-01-01", None),
        ("1899-12-31", None),
        ("1600-01-01", None),
        ("2025-3-20", None),
        ("2025/03/20", None),
        ("20250320", None),
        ("2025-03-20T00:00:00Z", None),
    ],
)
def test_licence_dates(text: str, expected: str | None) -> None:
    parsed = jalali.parse_licence_date(text)
    assert (parsed.isoformat() if parsed else None) == expected
    assert jalali.is_licence_date(text) is (expected is not None)


def test_plain_date() -> None:
    assert jalali.is_date("2024-02-29")
    assert not jalali.is_date("2023-02-29")
    assert not jalali.is_date("2024-2-9")
    assert not jalali.is_date("۲۰۲۴-۰۲-۲۹")
    assert not jalali.is_date("2024-02-29 ")


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2025-03-20T10:15:00+03:30", "2025-03-20T06:45:00+00:00"),
        ("2025-03-20T06:45:00Z", "2025-03-20T06:45:00+00:00"),
        ("2025-03-20t06:45:00z", "2025-03-20T06:45:00+00:00"),
        ("2025-03-20T06:45:00.123456789-00:00", "2025-03-20T06:45:00.123456+00:00"),
        ("2025-03-20T06:45:00.5+01:00", "2025-03-20T05:45:00.500000+00:00"),
    ],
)
def test_parse_datetime(text: str, utc: str) -> None:
    assert jalali.parse_datetime(text).astimezone(UTC).isoformat() == utc
    assert jalali.is_datetime(text)


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-20T10:15:00",  # naive
        "2025-03-20 10:15:00+03:30",
        "2025-03-20T10:15+03:30",
        "2025-03-20T24:00:00Z",
        "2025-02-30T10:15:00Z",
        "2025-03-20T10:15:60Z",
        "2025-03-20T10:15:00+0330",
        "2025-03-20T10:15:00+24:00",
        "۲۰۲۵-03-20T10:15:00Z",
        "",
    ],
)
def test_parse_datetime_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        jalali.parse_datetime(text)
    assert not jalali.is_datetime(text)
    assert jalali.datetime_problem(text) is not None


def test_naive_is_explained() -> None:
    problem = jalali.datetime_problem("2025-03-20T10:15:00")
    assert problem is not None and "offset" in problem.en


def test_tehran_zone_comes_from_the_tzdata_package() -> None:
    assert jalali.TEHRAN_SOURCE.startswith("tzdata ")
    assert str(jalali.TEHRAN) == "Asia/Tehran"


def _offset(text: str) -> timedelta:
    sign = -1 if text[0] == "-" else 1
    return sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6]))


@pytest.mark.parametrize("row", OFFSETS["offsets"], ids=lambda r: r["instant"][:10])
def test_tehran_offsets(row: dict[str, str]) -> None:
    instant = jalali.parse_datetime(row["instant"])
    assert jalali.tehran_offset(instant) == _offset(row["offset"])
    # The same via a Tehran wall-clock noon.
    local_noon = datetime.combine(instant.date(), datetime.min.time().replace(hour=12))
    assert local_noon.replace(tzinfo=jalali.TEHRAN).utcoffset() == _offset(row["offset"])


@pytest.mark.parametrize("row", OFFSETS["transitions"], ids=lambda r: r["utc"])
def test_dst_transitions_and_jalali_date_of(row: dict[str, str]) -> None:
    instant = jalali.parse_datetime(row["utc"])
    local = instant.astimezone(jalali.TEHRAN)
    expected = jalali.parse_datetime(row["local"])
    assert local.replace(tzinfo=None) == expected.replace(tzinfo=None)
    assert local.utcoffset() == expected.utcoffset()
    assert jalali.jalali_date_of(instant) == row["jalali"]


def test_jalali_date_follows_tehran_not_utc() -> None:
    # 21:00Z on 2025-03-20 is already 00:30 on 1404/01/01 in Tehran.
    instant = datetime(2025, 3, 20, 21, 0, tzinfo=UTC)
    assert jalali.jalali_date_of(instant) == "1404/01/01"
    assert jalali.gregorian_to_jalali(instant.date()) == "1403/12/30"


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError):
        jalali.jalali_date_of(datetime(2025, 3, 20, 12))
    with pytest.raises(ValueError):
        jalali.tehran_offset(datetime(2025, 3, 20, 12))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1402/12/30", "1402 is not a leap year: Esfand has 29 days"),
        ("1404/12/30", "1404 is not a leap year: Esfand has 29 days"),
        ("1399/11/31", "day must be 1-30: Bahman 1399 has 30 days, got 31"),
        ("1403/13/01", "month must be 1-12, got 13"),
        ("1299/01/01", "Jalali year must be 1300-1499, got 1299"),
    ],
)
def test_jalali_problem(text: str, message: str) -> None:
    problem = jalali.jalali_problem(text)
    assert problem is not None and problem.en == message
    assert problem.fa


def test_fast_jalali_check_agrees_with_jdatetime_on_every_day_in_range() -> None:
    from chalicelib.jalali import is_jalali_date, parse_jalali

    checked = 0
    for year in range(1299, 1501):
        for month in range(0, 14):
            for day in range(0, 33):
                text = f"{year:04d}/{month:02d}/{day:02d}"
                assert is_jalali_date(text) == (parse_jalali(text) is not None), text
                checked += 1
    assert checked == 202 * 14 * 33
