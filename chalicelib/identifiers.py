"""Iranian identifier checks: national id, legal-entity id, postal code, mobile, plate, ISIC.

Every check takes an already normalised value (see chalicelib.normalise) and accepts
ASCII digits only: Python's ``str.isdigit`` and ``\\d`` also accept Persian digits, so
digit tests here are always ``isascii() and isdigit()`` or ``[0-9]``.

Each ``*_problem`` function returns ``None`` for a valid value or a ``Problem`` with an
English and a Persian reason; messages never repeat the whole identifier (they end up in
logs and API responses, where national ids and phones must stay masked).

Policies (see docs/DESIGN.md):
- National ids are exactly 10 digits. 8 and 9 digit input is *not* left-padded, although
  the common libraries do so: a truncated 11-digit legal id padded to 10 digits can turn
  into somebody's valid personal id. Such input gets a "leading zeros missing?" hint.
- Repdigits (1111111111 …) pass the raw mod-11 checksum and are rejected explicitly, as
  are ids whose digits 4–9 are all zero. No city-prefix check: the public list is
  incomplete and unofficial.
- Unknown mobile operator prefixes are accepted (new 9xx ranges appear); the prefix table
  is data for ``mobile_operator`` only.
- Vehicle plates: canonical ``12ب345-67``. The letter «الف» is written in full (as printed
  on the plate); a lone «ا» is accepted on input and normalised to «الف».
"""

from __future__ import annotations

import re
from typing import Final, NamedTuple

__all__ = [
    "ISIC_DIVISIONS",
    "MOBILE_OPERATORS",
    "PLATE_LETTERS",
    "Problem",
    "is_isic_activity_code",
    "is_legal_id",
    "is_mobile",
    "is_national_id",
    "is_postal_code",
    "is_vehicle_plate",
    "isic_activity_code_problem",
    "legal_id_check_digit",
    "legal_id_problem",
    "mobile_operator",
    "mobile_problem",
    "national_id_check_digit",
    "national_id_problem",
    "postal_code_problem",
    "postal_code_warnings",
    "to_persian_digits",
    "vehicle_plate_problem",
]


class Problem(NamedTuple):
    """Why a value failed a check, in English and Persian."""

    en: str
    fa: str


_TO_PERSIAN_DIGITS: Final = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
_NON_ASCII_DIGITS: Final = frozenset("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")


def to_persian_digits(text: object) -> str:
    """Render ASCII digits as Persian digits, for the Persian half of messages."""
    return str(text).translate(_TO_PERSIAN_DIGITS)


def _ascii_digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _shape_problem(value: object, what_en: str, what_fa: str, length: int) -> Problem | None:
    """The problems shared by all fixed-length digit strings, or None if the shape is right."""
    if not isinstance(value, str):
        return Problem(
            f"{what_en} must be a string of {length} digits, not a {type(value).__name__}"
            " (a number loses its leading zeros)",
            f"{what_fa} باید رشته‌ای {to_persian_digits(length)} رقمی باشد، نه عدد"
            " (عدد صفرهای ابتدایی را از دست می‌دهد)",
        )
    if any(ch in _NON_ASCII_DIGITS for ch in value):
        return Problem(
            f"{what_en} must use ASCII digits 0-9, not Persian or Arabic-Indic digits",
            f"{what_fa} باید با ارقام لاتین (0-9) نوشته شود",
        )
    if not _ascii_digits(value):
        return Problem(
            f"{what_en} may contain digits only",
            f"{what_fa} فقط می‌تواند رقم داشته باشد",
        )
    if len(value) != length:
        return Problem(
            f"{what_en} must be exactly {length} digits, got {len(value)}",
            f"{what_fa} باید دقیقاً {to_persian_digits(length)} رقم باشد، "
            f"{to_persian_digits(len(value))} رقم است",
        )
    return None


# --- national id (کد ملی) -------------------------------------------------------------


def national_id_check_digit(first_nine: str) -> int:
    """The mod-11 check digit for the first nine digits of a national id."""
    # Unrolled over the ASCII codes: this runs on every webhook inside a ~10 µs budget.
    d = first_nine.encode("ascii")
    total = (
        10 * d[0]
        + 9 * d[1]
        + 8 * d[2]
        + 7 * d[3]
        + 6 * d[4]
        + 5 * d[5]
        + 4 * d[6]
        + 3 * d[7]
        + 2 * d[8]
        - 54 * 48
    )
    remainder = total % 11
    return remainder if remainder < 2 else 11 - remainder


def national_id_problem(value: object) -> Problem | None:
    if isinstance(value, str) and _ascii_digits(value) and len(value) in (8, 9):
        # The libraries pad these; we refuse (see the module docstring) but say why.
        return Problem(
            f"{len(value)} digits: leading zeros missing? send the 10-digit code as a string",
            f"{to_persian_digits(len(value))} رقم: صفرهای ابتدایی حذف شده‌اند؟"
            " کد ملی ۱۰ رقمی را به صورت رشته بفرستید",
        )
    shape = _shape_problem(value, "national id", "کد ملی", 10)
    if shape is not None or not isinstance(value, str):
        return shape
    if value.count(value[0]) == 10:
        return Problem(
            "national id cannot be ten identical digits",
            "کد ملی نمی‌تواند ده رقم یکسان باشد",
        )
    if value[3:9] == "000000":
        return Problem(
            "national id digits 4-9 cannot all be zero",
            "ارقام چهارم تا نهم کد ملی نمی‌توانند همه صفر باشند",
        )
    expected = national_id_check_digit(value)
    if int(value[9]) != expected:
        return Problem(
            f"national id check digit should be {expected}, got {value[9]}",
            f"رقم کنترل کد ملی باید {to_persian_digits(expected)} باشد، "
            f"{to_persian_digits(value[9])} است",
        )
    return None


def is_national_id(value: object) -> bool:
    """Exactly 10 ASCII digits, valid check digit, not a repdigit, digits 4-9 not all zero."""
    if not isinstance(value, str) or len(value) != 10 or not _ascii_digits(value):
        return False
    if value[3:9] == "000000" or value.count(value[0]) == 10:
        return False
    return ord(value[9]) - 48 == national_id_check_digit(value)


# --- legal-entity id (شناسه ملی اشخاص حقوقی) -------------------------------------------


def legal_id_check_digit(first_ten: str) -> int:
    """The check digit for the first ten digits of an 11-digit legal-entity id."""
    d = first_ten.encode("ascii")
    base = d[9] - 48 + 2
    # sum((base + digit) * weight): the weights add up to 230, and 48 is ord("0").
    total = 230 * (base - 48) + (
        29 * d[0]
        + 27 * d[1]
        + 23 * d[2]
        + 19 * d[3]
        + 17 * d[4]
        + 29 * d[5]
        + 27 * d[6]
        + 23 * d[7]
        + 19 * d[8]
        + 17 * d[9]
    )
    remainder = total % 11
    return 0 if remainder == 10 else remainder


def legal_id_problem(value: object) -> Problem | None:
    shape = _shape_problem(value, "legal-entity id", "شناسه ملی شخص حقوقی", 11)
    if shape is not None or not isinstance(value, str):
        return shape
    expected = legal_id_check_digit(value)
    if int(value[10]) != expected:
        return Problem(
            f"legal-entity id check digit should be {expected}, got {value[10]}",
            f"رقم کنترل شناسه ملی باید {to_persian_digits(expected)} باشد، "
            f"{to_persian_digits(value[10])} است",
        )
    return None


def is_legal_id(value: object) -> bool:
    """Exactly 11 ASCII digits with a valid check digit."""
    if not isinstance(value, str) or len(value) != 11 or not _ascii_digits(value):
        return False
    return ord(value[10]) - 48 == legal_id_check_digit(value)


# --- postal code (کد پستی) ------------------------------------------------------------


def postal_code_problem(value: object) -> Problem | None:
    return _shape_problem(value, "postal code", "کد پستی", 10)


def is_postal_code(value: object) -> bool:
    """Exactly 10 ASCII digits (postal codes have no check digit)."""
    return isinstance(value, str) and len(value) == 10 and _ascii_digits(value)


def postal_code_warnings(value: object) -> list[Problem]:
    """Soft rules: 0 and 2 are not used in the first five digits (they look like 5 and 3).

    A community-derived rule, not an official specification, so it only warns.
    """
    if not isinstance(value, str) or not is_postal_code(value):
        return []
    found = sorted({ch for ch in value[:5] if ch in "02"})
    if not found:
        return []
    digits = " and ".join(found)
    return [
        Problem(
            f"postal code has {digits} in its first five digits, which are not normally used",
            f"کد پستی در پنج رقم اول {' و '.join(to_persian_digits(d) for d in found)}"
            " دارد که معمولاً به کار نمی‌رود",
        )
    ]


# --- mobile -----------------------------------------------------------------------------

_MOBILE_RE: Final = re.compile(r"09[0-9]{9}")


def _prefixes(*spans: tuple[int, int]) -> tuple[str, ...]:
    return tuple(str(n) for start, end in spans for n in range(start, end + 1))


# Operator by the three digits after the leading 0 (persian-tools JS, Dec 2025). Data only:
# an unknown prefix is not an error, because new ranges are handed out over time.
MOBILE_OPERATORS: Final[dict[str, tuple[str, str]]] = {
    prefix: operator
    for prefixes, operator in (
        (_prefixes((910, 919), (990, 996)), ("MCI", "همراه اول")),
        (_prefixes((900, 905), (930, 930), (933, 933), (935, 939), (941, 941)),
         ("Irancell", "ایرانسل")),
        (_prefixes((920, 923)), ("RighTel", "رایتل")),
        (_prefixes((932, 932)), ("Taliya", "تالیا")),
        (_prefixes((998, 998)), ("Shatel Mobile", "شاتل موبایل")),
        (_prefixes((999, 999)), ("Aptel", "آپتل")),
    )
    for prefix in prefixes
}  # fmt: skip


def is_mobile(value: object) -> bool:
    """The national form ``09`` + 9 ASCII digits (normalise +98/0098/98 input first)."""
    return isinstance(value, str) and _MOBILE_RE.fullmatch(value) is not None


def mobile_operator(value: object) -> tuple[str, str] | None:
    """(English, Persian) operator name for a national-form mobile, None if unknown."""
    if not isinstance(value, str) or not is_mobile(value):
        return None
    return MOBILE_OPERATORS.get(value[1:4])


def mobile_problem(value: object) -> Problem | None:
    if is_mobile(value):
        return None
    if isinstance(value, str) and any(ch in _NON_ASCII_DIGITS for ch in value):
        return Problem(
            "mobile number must use ASCII digits 0-9",
            "شماره همراه باید با ارقام لاتین (0-9) نوشته شود",
        )
    return Problem(
        "mobile number must be 11 digits starting with 09, e.g. 09121234567",
        "شماره همراه باید ۱۱ رقم و با ۰۹ شروع شود، مانند ۰۹۱۲۱۲۳۴۵۶۷",
    )


# --- vehicle plate (پلاک خودرو) --------------------------------------------------------

ALEF: Final = "الف"
# Letters used on Iranian plates: ordinary series plus the special ones (ژ for veterans
# with disabilities, پ police, ث and others for government and special services).
PLATE_LETTERS: Final = frozenset("بجدسصطقلمنوهیتعژپثزشفکگ") | {ALEF}
_PLATE_RE: Final = re.compile(r"([0-9]{2})(الف|[^0-9])([0-9]{3})-([0-9]{2})")


def vehicle_plate_problem(value: object) -> Problem | None:
    if not isinstance(value, str):
        return Problem("vehicle plate must be a string", "پلاک خودرو باید رشته باشد")
    match = _PLATE_RE.fullmatch(value)
    if match is None:
        return Problem(
            "vehicle plate must look like 12ب345-67: two digits, a letter, three digits,"
            " '-', two-digit province code",
            "پلاک خودرو باید به شکل ۱۲ب۳۴۵-۶۷ باشد: دو رقم، یک حرف، سه رقم، «-»، کد دو رقمی استان",
        )
    letter = match.group(2)
    if letter not in PLATE_LETTERS:
        return Problem(
            f"{letter!r} is not a plate letter",
            f"«{letter}» از حروف پلاک نیست",
        )
    return None


def is_vehicle_plate(value: object) -> bool:
    """The canonical plate form ``12ب345-67`` with a known plate letter."""
    if not isinstance(value, str):
        return False
    match = _PLATE_RE.fullmatch(value)
    return match is not None and match.group(2) in PLATE_LETTERS


# --- ISIC activity code (کد آیسیک) ------------------------------------------------------

# The 88 division numbers of ISIC Rev.4 (UN ST/ESA/STAT/SER.M/4/Rev.4). Iran's national
# ISIC adds levels below the class, of unpublished length, so we check the division only.
# fmt: off
ISIC_DIVISIONS: Final = frozenset((
    "01", "02", "03", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15",
    "16", "17", "18", "19", "20", "21", "22", "23", "24", "25", "26", "27", "28", "29",
    "30", "31", "32", "33", "35", "36", "37", "38", "39", "41", "42", "43", "45", "46",
    "47", "49", "50", "51", "52", "53", "55", "56", "58", "59", "60", "61", "62", "63",
    "64", "65", "66", "68", "69", "70", "71", "72", "73", "74", "75", "77", "78", "79",
    "80", "81", "82", "84", "85", "86", "87", "88", "90", "91", "92", "93", "94", "95",
    "96", "97", "98", "99",
))
# fmt: on


def is_isic_activity_code(value: object) -> bool:
    """4-6 ASCII digits whose first two digits are an ISIC Rev.4 division."""
    return (
        isinstance(value, str)
        and 4 <= len(value) <= 6
        and _ascii_digits(value)
        and value[:2] in ISIC_DIVISIONS
    )


def isic_activity_code_problem(value: object) -> Problem | None:
    if is_isic_activity_code(value):
        return None
    if not isinstance(value, str):
        return Problem(
            "ISIC activity code must be a string of 4-6 digits",
            "کد آیسیک باید رشته‌ای ۴ تا ۶ رقمی باشد",
        )
    if not _ascii_digits(value) or not 4 <= len(value) <= 6:
        return Problem(
            "ISIC activity code must be 4-6 ASCII digits",
            "کد آیسیک باید ۴ تا ۶ رقم لاتین باشد",
        )
    return Problem(
        f"{value[:2]} is not an ISIC Rev.4 division",
        f"{to_persian_digits(value[:2])} از بخش‌های (division) آیسیک ویرایش ۴ نیست",
    )
