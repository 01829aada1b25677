"""Format name → checker, shared by both validator engines, and the reasons for failures.

The checkers are plain one-argument functions because jsonschema's ``FormatChecker`` calls
them with any instance and jsonschema-rs (``formats=…``) with strings. JSON Schema
semantics: a format only constrains strings, so any other value passes here (the ``type``
keyword is what rejects a national id sent as a number).

They expect normalised input (chalicelib.normalise): ASCII digits only, phones already in
``09…`` form, plates in ``12ب345-67`` form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

from chalicelib import identifiers, jalali
from chalicelib.identifiers import Problem

__all__ = ["CHECKS", "explain", "is_email"]

# A practical address check, ASCII only (internationalised addresses are "idn-email"):
# dot-atom local part up to 64 characters, a domain of at least two labels of letters,
# digits and inner hyphens, a top-level label that is not all digits, 254 characters overall.
_EMAIL_RE: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
)


def is_email(value: object) -> bool:
    if not isinstance(value, str) or len(value) > 254 or _EMAIL_RE.fullmatch(value) is None:
        return False
    return len(value.rpartition("@")[0]) <= 64


def _strings_only(check: Callable[[object], bool]) -> Callable[[object], bool]:
    def format_check(value: object) -> bool:
        return not isinstance(value, str) or check(value)

    format_check.__name__ = check.__name__
    format_check.__doc__ = check.__doc__
    return format_check


CHECKS: Final[dict[str, Callable[[object], bool]]] = {
    name: _strings_only(check)
    for name, check in (
        ("iran-national-id", identifiers.is_national_id),
        ("iran-legal-id", identifiers.is_legal_id),
        ("iran-postal-code", identifiers.is_postal_code),
        ("iran-mobile", identifiers.is_mobile),
        ("iran-vehicle-plate", identifiers.is_vehicle_plate),
        ("jalali-date", jalali.is_jalali_date),
        ("licence-date", jalali.is_licence_date),
        ("isic-activity-code", identifiers.is_isic_activity_code),
        ("date", jalali.is_date),
        ("date-time", jalali.is_datetime),
        ("email", is_email),
    )
}


def _email_problem(value: object) -> Problem | None:
    if is_email(value):
        return None
    return Problem(
        "not a valid email address (ASCII, like name@example.ir)",
        "نشانی ایمیل معتبر نیست (با حروف لاتین، مانند name@example.ir)",
    )


_PROBLEMS: Final[dict[str, Callable[[object], Problem | None]]] = {
    "iran-national-id": identifiers.national_id_problem,
    "iran-legal-id": identifiers.legal_id_problem,
    "iran-postal-code": identifiers.postal_code_problem,
    "iran-mobile": identifiers.mobile_problem,
    "iran-vehicle-plate": identifiers.vehicle_plate_problem,
    "jalali-date": jalali.jalali_problem,
    "licence-date": jalali.licence_date_problem,
    "isic-activity-code": identifiers.isic_activity_code_problem,
    "date": jalali.date_problem,
    "date-time": jalali.datetime_problem,
    "email": _email_problem,
}


def explain(format_name: str, value: object) -> tuple[str, str]:
    """(English, Persian) reason why ``value`` fails ``format_name``.

    Called for values that failed; for a value that passes, or an unknown format, it still
    answers with a generic sentence rather than raising, since it only builds messages.
    Reasons never repeat a whole national id or phone number.
    """
    problem_of = _PROBLEMS.get(format_name)
    problem = problem_of(value) if problem_of is not None else None
    if problem is None:
        return (f"does not match format {format_name!r}", f"با قالب «{format_name}» سازگار نیست")
    return problem.en, problem.fa
