"""Jalali (Solar Hijri) dates, licence dates, RFC 3339 times and Asia/Tehran.

The calendar is jdatetime's (the 33-year rule, exact for 1300-1499 AP; 1403 is a leap year,
1404 is not). khayyam is never used: its 2820-year cycle puts the leap day of 1403 in 1404.
Jalali years are limited to 1300-1499 because the libraries start to disagree from 1502.

Tehran's zone is read from the PyPI ``tzdata`` package, not from the system's zoneinfo
files: an image with tzdata older than 2022b still applies Iranian summer time (+04:30)
after 2022. ``ZoneInfo.from_file`` gives us that zone without changing the global
``zoneinfo`` search path for other modules; the system zone is used only if the package is
missing (``TEHRAN_SOURCE`` says which). Such a zone object cannot be pickled, which we never
need.
"""

from __future__ import annotations

import importlib
import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from importlib import resources
from typing import Final
from zoneinfo import ZoneInfo

from chalicelib.identifiers import Problem, to_persian_digits

__all__ = [
    "JALALI_MAX_YEAR",
    "JALALI_MIN_YEAR",
    "MONTHS_EN",
    "MONTHS_FA",
    "TEHRAN",
    "TEHRAN_SOURCE",
    "date_problem",
    "datetime_problem",
    "gregorian_to_jalali",
    "is_date",
    "is_datetime",
    "is_jalali_date",
    "is_jalali_leap",
    "is_licence_date",
    "jalali_date_of",
    "jalali_month_length",
    "jalali_problem",
    "licence_date_problem",
    "parse_date",
    "parse_datetime",
    "parse_jalali",
    "parse_licence_date",
    "tehran_offset",
    "to_iso_date",
]


def _load_tehran() -> tuple[ZoneInfo, str]:
    try:
        # import_module, not import: tzdata ships no type information.
        tzdata = importlib.import_module("tzdata")
        with resources.files("tzdata.zoneinfo").joinpath("Asia/Tehran").open("rb") as fh:
            zone = ZoneInfo.from_file(fh, key="Asia/Tehran")
        return zone, f"tzdata {getattr(tzdata, 'IANA_VERSION', '?')}"
    except (ImportError, OSError):  # pragma: no cover - tzdata is a pinned requirement
        return ZoneInfo("Asia/Tehran"), "system"


TEHRAN, TEHRAN_SOURCE = _load_tehran()

JALALI_MIN_YEAR: Final = 1300
JALALI_MAX_YEAR: Final = 1499
GREGORIAN_MIN_YEAR: Final = 1900
GREGORIAN_MAX_YEAR: Final = 2199

MONTHS_EN: Final = (
    "Farvardin", "Ordibehesht", "Khordad", "Tir", "Mordad", "Shahrivar",
    "Mehr", "Aban", "Azar", "Dey", "Bahman", "Esfand",
)  # fmt: skip
MONTHS_FA: Final = (
    "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور",
    "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
)  # fmt: skip

# [0-9], not \d: Python's \d also matches Persian digits.
_JALALI_RE: Final = re.compile(r"([0-9]{4})([/-])([0-9]{2})\2([0-9]{2})")
_ISO_DATE_RE: Final = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DATETIME_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))?"
)


def is_jalali_leap(year: int) -> bool:
    return year in _leap_years() if JALALI_MIN_YEAR <= year <= JALALI_MAX_YEAR else _isleap(year)


def jalali_month_length(year: int, month: int) -> int:
    if month <= 6:
        return 31
    if month <= 11:
        return 30
    return 30 if is_jalali_leap(year) else 29


def _jalali_parts(value: object) -> tuple[int, int, int] | None:
    if not isinstance(value, str):
        return None
    match = _JALALI_RE.fullmatch(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(3)), int(match.group(4))


def parse_jalali(value: object) -> date | None:
    """The Gregorian date of a Jalali ``YYYY/MM/DD`` or ``YYYY-MM-DD`` (1300-1499), or None."""
    parts = _jalali_parts(value)
    if parts is None:
        return None
    year, month, day = parts
    if not JALALI_MIN_YEAR <= year <= JALALI_MAX_YEAR:
        return None
    try:
        import jdatetime

        gregorian: date = jdatetime.date(year, month, day).togregorian()
    except ValueError:  # month 0 or 13, day past the month's end, 12/30 in a common year
        return None
    return gregorian


def _isleap(year: int) -> bool:
    import jdatetime  # imported on first use: most webhooks carry no Jalali date

    return bool(jdatetime.date(year, 1, 1).isleap())


@cache
def _leap_years() -> frozenset[int]:
    """jdatetime's leap years over the years we accept, computed once: the format check runs
    on every Jalali date of every webhook, and a jdatetime.date costs microseconds."""
    return frozenset(y for y in range(JALALI_MIN_YEAR, JALALI_MAX_YEAR + 1) if _isleap(y))


def is_jalali_date(value: object) -> bool:
    """parse_jalali's verdict, without building the date."""
    parts = _jalali_parts(value)
    if parts is None:
        return False
    year, month, day = parts
    if not JALALI_MIN_YEAR <= year <= JALALI_MAX_YEAR or not 1 <= month <= 12 or day < 1:
        return False
    if month <= 6:
        return day <= 31
    if month <= 11:
        return day <= 30
    return day <= (30 if year in _leap_years() else 29)


def gregorian_to_jalali(day: date) -> str:
    """``YYYY/MM/DD`` in the Jalali calendar."""
    import jdatetime

    jalali = jdatetime.date.fromgregorian(date=day)
    return f"{jalali.year:04d}/{jalali.month:02d}/{jalali.day:02d}"


def parse_date(value: object) -> date | None:
    """A strict ISO ``YYYY-MM-DD`` Gregorian date that exists, or None."""
    if not isinstance(value, str) or _ISO_DATE_RE.fullmatch(value) is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def is_date(value: object) -> bool:
    return parse_date(value) is not None


def parse_licence_date(value: object) -> date | None:
    """A licence date: ISO Gregorian (years 1900-2199) or Jalali (years 1300-1499)."""
    if not isinstance(value, str):
        return None
    match = _ISO_DATE_RE.fullmatch(value)
    if match is not None and GREGORIAN_MIN_YEAR <= int(match.group(1)) <= GREGORIAN_MAX_YEAR:
        return parse_date(value)
    return parse_jalali(value)


def is_licence_date(value: object) -> bool:
    return parse_licence_date(value) is not None


def to_iso_date(value: str) -> str:
    """The canonical ISO Gregorian form of a licence date; ValueError if it is not one."""
    parsed = parse_licence_date(value)
    if parsed is None:
        raise ValueError(f"not a licence date: {value!r}")
    return parsed.isoformat()


def parse_datetime(value: str) -> datetime:
    """An RFC 3339 date-time with an offset (``Z`` or ``±hh:mm``); ValueError otherwise.

    Naive times are refused: a local time without an offset is ambiguous (Tehran had DST
    until 2022). Fractions beyond microseconds are truncated; leap seconds (``:60``) are
    refused because ``datetime`` cannot hold them.
    """
    match = _DATETIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not an RFC 3339 date-time: {value!r}")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    fraction, zulu, sign, off_hours, off_minutes = match.group(7, 8, 9, 10, 11)
    if zulu is None and sign is None:
        raise ValueError(f"date-time needs an offset (Z or +03:30): {value!r}")
    if zulu is not None:
        tz = UTC
    else:
        if int(off_hours) > 23 or int(off_minutes) > 59:
            raise ValueError(f"offset out of range: {value!r}")
        offset = timedelta(hours=int(off_hours), minutes=int(off_minutes))
        tz = timezone(-offset if sign == "-" else offset)
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)


def is_datetime(value: object) -> bool:
    """parse_datetime's verdict without building the aware datetime (a hot format check)."""
    match = _DATETIME_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second, _, zulu, sign, off_hours, off_minutes = match.groups()
    if zulu is None and (sign is None or int(off_hours) > 23 or int(off_minutes) > 59):
        return False
    try:
        datetime(int(year), int(month), int(day), int(hour), int(minute), int(second))
    except ValueError:
        return False
    return True


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("a naive datetime is not an instant; give it an offset")
    return instant


def jalali_date_of(instant: datetime) -> str:
    """The Jalali date (``YYYY/MM/DD``) of an instant, as the calendar on a Tehran wall shows."""
    return gregorian_to_jalali(_aware(instant).astimezone(TEHRAN).date())


def tehran_offset(instant: datetime) -> timedelta:
    """Tehran's UTC offset at an instant (+03:30; +04:30 in DST summers up to 2022)."""
    offset = _aware(instant).astimezone(TEHRAN).utcoffset()
    if offset is None:  # pragma: no cover - a ZoneInfo always has an offset
        raise ValueError("no offset")
    return offset


# --- reasons for messages -------------------------------------------------------------


def jalali_problem(value: object) -> Problem | None:
    if is_jalali_date(value):
        return None
    parts = _jalali_parts(value)
    if parts is None:
        return Problem(
            "expected a Jalali date YYYY/MM/DD or YYYY-MM-DD with ASCII digits, e.g. 1403/12/30",
            "تاریخ شمسی باید به شکل YYYY/MM/DD یا YYYY-MM-DD با ارقام لاتین باشد، مانند 1403/12/30",
        )
    year, month, day = parts
    if not JALALI_MIN_YEAR <= year <= JALALI_MAX_YEAR:
        return Problem(
            f"Jalali year must be {JALALI_MIN_YEAR}-{JALALI_MAX_YEAR}, got {year}",
            f"سال شمسی باید بین {to_persian_digits(JALALI_MIN_YEAR)} و"
            f" {to_persian_digits(JALALI_MAX_YEAR)} باشد، {to_persian_digits(year)} است",
        )
    if not 1 <= month <= 12:
        return Problem(
            f"month must be 1-12, got {month}",
            f"ماه باید بین ۱ و ۱۲ باشد، {to_persian_digits(month)} است",
        )
    length = jalali_month_length(year, month)
    if month == 12 and day == 30:
        return Problem(
            f"{year} is not a leap year: Esfand has 29 days",
            f"سال {to_persian_digits(year)} کبیسه نیست: اسفند ۲۹ روز دارد",
        )
    return Problem(
        f"day must be 1-{length}: {MONTHS_EN[month - 1]} {year} has {length} days, got {day}",
        f"روز باید بین ۱ و {to_persian_digits(length)} باشد: {MONTHS_FA[month - 1]}"
        f" {to_persian_digits(year)} {to_persian_digits(length)} روز دارد،"
        f" {to_persian_digits(day)} است",
    )


def date_problem(value: object) -> Problem | None:
    if is_date(value):
        return None
    match = _ISO_DATE_RE.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return Problem(
            "expected a date YYYY-MM-DD with ASCII digits",
            "تاریخ باید به شکل YYYY-MM-DD با ارقام لاتین باشد",
        )
    return Problem(
        f"{value} is not a real date",
        f"تاریخ {value} وجود ندارد",
    )


def licence_date_problem(value: object) -> Problem | None:
    if is_licence_date(value):
        return None
    if isinstance(value, str):
        match = _ISO_DATE_RE.fullmatch(value)
        if match is not None:
            year = int(match.group(1))
            if GREGORIAN_MIN_YEAR <= year <= GREGORIAN_MAX_YEAR:
                return date_problem(value)
        parts = _jalali_parts(value)
        if parts is not None and JALALI_MIN_YEAR <= parts[0] <= JALALI_MAX_YEAR:
            return jalali_problem(value)
    return Problem(
        f"expected an ISO date YYYY-MM-DD (years {GREGORIAN_MIN_YEAR}-{GREGORIAN_MAX_YEAR})"
        f" or a Jalali date YYYY/MM/DD (years {JALALI_MIN_YEAR}-{JALALI_MAX_YEAR})",
        f"تاریخ باید میلادی به شکل YYYY-MM-DD (سال‌های"
        f" {to_persian_digits(GREGORIAN_MIN_YEAR)} تا {to_persian_digits(GREGORIAN_MAX_YEAR)})"
        f" یا شمسی به شکل YYYY/MM/DD (سال‌های {to_persian_digits(JALALI_MIN_YEAR)} تا"
        f" {to_persian_digits(JALALI_MAX_YEAR)}) باشد",
    )


def datetime_problem(value: object) -> Problem | None:
    if not isinstance(value, str):
        return Problem("date-time must be a string", "زمان باید رشته باشد")
    match = _DATETIME_RE.fullmatch(value)
    if match is None:
        return Problem(
            "expected an RFC 3339 date-time with offset, e.g. 2025-03-20T10:15:00+03:30",
            "زمان باید به شکل RFC 3339 با اختلاف ساعت باشد، مانند 2025-03-20T10:15:00+03:30",
        )
    if match.group(8) is None and match.group(9) is None:
        return Problem(
            "date-time has no offset: add Z or +03:30 (Tehran)",
            "زمان اختلاف ساعت ندارد: Z یا +03:30 (تهران) را اضافه کنید",
        )
    if is_datetime(value):
        return None
    return Problem(
        f"{value} is not a real date-time",
        f"زمان {value} وجود ندارد",
    )
