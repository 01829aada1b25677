"""Validate a webhook body: normalise, check against the schemas, build the canonical event.

Two engines give one verdict. jsonschema-rs (compiled) answers "is it valid?" in a few
microseconds, which is the answer for almost every request; only when it says no does the
pure-Python jsonschema walk the document to list every error with its JSON pointer. A test
holds the two to the same verdicts over every example and thousands of generated payloads.
Both engines use the same format checks (chalicelib.formats) and the same schema files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jsonschema_rs

from chalicelib import formats, identifiers, jalali
from chalicelib.licence_types import CODES
from chalicelib.masking import mask_value
from chalicelib.normalise import normalise_document

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from referencing import Registry

_KNOWN_CODES = frozenset(CODES)
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
BASE_URI = "https://schemas.licence-bridge.ir/"
ENVELOPE_ID = BASE_URI + "envelope.json"


def type_schema_id(code: str) -> str:
    return f"{BASE_URI}types/{code}.json"


@dataclass(frozen=True)
class Issue:
    """One problem with the input: where (JSON pointer), which rule, in English and Persian."""

    pointer: str
    rule: str
    message: str
    message_fa: str
    value: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "rule": self.rule,
            "message": self.message,
            "message_fa": self.message_fa,
            "value": self.value,
        }


@dataclass(frozen=True)
class ValidationResult:
    ok: bool
    issues: tuple[Issue, ...]
    # The normalised event with the canonical licence record (Jalali dates as ISO) when ok;
    # the normalised event otherwise (useful for showing what was understood).
    document: Any


def load_schemas(directory: Path = SCHEMA_DIR) -> dict[str, dict[str, Any]]:
    """Every JSON Schema under `directory` (the portal's XSDs live beside them, not loaded)."""
    schemas: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.rglob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        schemas[schema["$id"]] = schema
    return schemas


def build_registry(schemas: dict[str, dict[str, Any]]) -> Registry:
    # Imported here: only the full (error-listing) engine needs it, not the fast path.
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    # No retrieve function: a $ref to anything not bundled fails instead of being fetched.
    resources = [
        (uri, Resource.from_contents(s, default_specification=DRAFT202012))
        for uri, s in schemas.items()
    ]
    return Registry().with_resources(resources)


def _format_checker() -> Any:
    from jsonschema import FormatChecker

    checker = FormatChecker(formats=())
    for name, check in formats.CHECKS.items():
        checker.checks(name)(check)
    return checker


class LicenceValidator:
    """Validators for the envelope and each licence type, each built on first use.

    A cold start pays for one compiled validator (the type of its first request); the
    pure-Python engine, and its import, wait for the first invalid payload.
    """

    def __init__(self, schemas: dict[str, dict[str, Any]]) -> None:
        self._schemas = schemas
        fast_schemas = {uri: fast_variant(schema) for uri, schema in schemas.items()}
        self._fast_registry = jsonschema_rs.Registry(list(fast_schemas.items()))
        self._fast_formats = {n: c for n, c in formats.CHECKS.items() if n not in _NATIVE_FORMATS}
        self._fast: dict[str, Any] = {}
        self._full: dict[str, Any] = {}

    def _fast_for(self, code: str) -> Any:
        validator = self._fast.get(code)
        if validator is None:
            # One validator for envelope and licence together, so the body crosses into
            # the compiled engine once.
            uri = f"{BASE_URI}fast/{code}.json"
            combined = {
                "$schema": self._schemas[ENVELOPE_ID]["$schema"],
                "$id": uri,
                "allOf": [{"$ref": ENVELOPE_ID}],
                "properties": {"licence": {"$ref": type_schema_id(code)}},
            }
            validator = jsonschema_rs.Draft202012Validator(
                combined,
                formats=self._fast_formats,
                validate_formats=True,
                ignore_unknown_formats=False,
                registry=self._fast_registry,
                base_uri=uri,
                keywords={_RANGE: _Range, _NUMBERS: _Numbers},
            )
            self._fast[code] = validator
        return validator

    def _full_for(self, schema_id: str) -> Any:
        validator = self._full.get(schema_id)
        if validator is None:
            from jsonschema import Draft202012Validator

            validator = Draft202012Validator(
                self._schemas[schema_id],
                registry=build_registry(self._schemas),
                format_checker=_format_checker(),
            )
            self._full[schema_id] = validator
        return validator

    def is_valid(self, event: Any) -> bool:
        """The fast verdict on a normalised event."""
        try:
            code = event["licence"]["licence_type"]
        except (TypeError, KeyError):
            return False  # no licence: the full check names the problem
        # A list or an object is unhashable: the set lookup would raise, not answer no.
        if not isinstance(code, str) or code not in _KNOWN_CODES:
            return False
        return bool(self._fast_for(code).is_valid(event))

    def issues(self, event: Any) -> list[Issue]:
        """Every issue of a normalised event, in a deterministic order."""
        found = list(_issues(self._full_for(ENVELOPE_ID).iter_errors(event), ""))
        licence = event.get("licence") if isinstance(event, dict) else None
        code = licence.get("licence_type") if isinstance(licence, dict) else None
        if isinstance(code, str) and code in _KNOWN_CODES:
            found.extend(
                _issues(self._full_for(type_schema_id(code)).iter_errors(licence), "/licence")
            )
        unique = {(i.pointer, i.rule, i.message): i for i in found}
        return sorted(unique.values(), key=lambda i: (i.pointer, i.rule, i.message))

    def validate(self, event: Any) -> ValidationResult:
        document = normalise_document(event)
        if self.is_valid(document):
            return ValidationResult(True, (), canonicalise(document))
        issues = self.issues(document)
        if not issues:
            # The engines disagree; trust the one that explains itself, but never silently.
            raise EngineDisagreementError(document)
        return ValidationResult(False, tuple(issues), document)


class EngineDisagreementError(RuntimeError):
    """jsonschema-rs said invalid but jsonschema found nothing: a bug to fix, not a 4xx."""


@cache
def default_validator() -> LicenceValidator:
    return LicenceValidator(load_schemas())


def validate_event(parsed: Any) -> ValidationResult:
    """Normalise and validate a parsed webhook body; see ValidationResult."""
    return default_validator().validate(parsed)


# --- the compiled engine's schema variant --------------------------------------------------
#
# jsonschema-rs calls a Python format checker through FFI (about 1 µs a call) and compares
# fractional bounds slowly (about 1.5 µs each); on a 1.6 KB licence that is most of the
# budget. So the compiled engine gets an equivalent rewrite of each schema: formats that
# are only a shape become native patterns, fractional bounds become one Python comparison
# (the very comparison the reference engine makes), and the type schemas' top-level
# unevaluatedProperties (which lists every common field in `properties`) becomes
# additionalProperties. Checksums, Jalali dates and date-times stay Python callbacks.
# tests/test_validation.py holds both engines to the same verdicts.

_NATIVE_FORMATS = frozenset({"date", "date-time"})
_RANGE = "x-fast-range"


def _alternation(options: Iterable[str]) -> str:
    return "(?:" + "|".join(sorted(options, key=lambda o: (-len(o), o))) + ")"


_SHAPE_PATTERNS = {
    "iran-mobile": "^09[0-9]{9}$",
    "iran-postal-code": "^[0-9]{10}$",
    "isic-activity-code": "^" + _alternation(identifiers.ISIC_DIVISIONS) + "[0-9]{2,4}$",
    "iran-vehicle-plate": "^[0-9]{2}"
    + _alternation(identifiers.PLATE_LETTERS)
    + "[0-9]{3}-[0-9]{2}$",
}
# The compiled engine's own date-time check also takes leap seconds and year 0000, which
# ours (datetime-based) refuses.
_DATE_TIME = {"format": "date-time", "not": {"pattern": "^0000-|[Tt][0-9]{2}:[0-9]{2}:60"}}
_NUMBERS = "x-fast-numbers"
# A licence date is an ISO date of 1900-2199 (native check) or a Jalali date (callback).
_LICENCE_DATE = {
    "anyOf": [
        {"pattern": "^(?:19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$", "format": "date"},
        {"format": "jalali-date"},
    ]
}


class _Range:
    """minimum/maximum with fractional bounds, compared in Python."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self.low, self.high = value

    def validate(self, instance: Any) -> None:
        if isinstance(instance, bool) or not isinstance(instance, int | float | Decimal):
            return
        if (self.low is not None and instance < self.low) or (
            self.high is not None and instance > self.high
        ):
            raise ValueError("out of range")


class _Numbers:
    """Several number properties of one object, type and bounds checked in one call.

    Each crossing into Python costs about a microsecond, and the compiled engine's own
    checks are slow for Decimal values; coordinates are the case this exists for.
    """

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self.bounds: list[tuple[str, Any, Any]] = [(k, lo, hi) for k, (lo, hi) in value.items()]

    def validate(self, instance: Any) -> None:
        if not isinstance(instance, dict):
            return
        for name, low, high in self.bounds:
            if name not in instance:
                continue
            number = instance[name]
            if isinstance(number, bool) or not isinstance(number, int | float | Decimal):
                raise ValueError(f"{name} is not a number")
            if (low is not None and number < low) or (high is not None and number > high):
                raise ValueError(f"{name} out of range")


def _fold_numbers(schema: dict[str, Any]) -> None:
    """Move `{"type": "number", <range>}` properties into one object-level _Numbers check."""
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    folded = {}
    for name, sub in properties.items():
        if isinstance(sub, dict) and sub.get("type") == "number" and set(sub) <= {"type", _RANGE}:
            folded[name] = sub.get(_RANGE, [None, None])
    if folded:
        for name in folded:
            properties[name] = True
        schema[_NUMBERS] = folded


def _fractional(bound: Any) -> bool:
    return isinstance(bound, float | Decimal) and bound != int(bound)


def fast_variant(schema: Any, *, top: bool = True) -> Any:
    """The same schema, rewritten for the compiled engine (see above)."""
    if isinstance(schema, list):
        return [fast_variant(item, top=False) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs", "patternProperties") and isinstance(value, dict):
            out[key] = {name: fast_variant(sub, top=False) for name, sub in value.items()}
        elif key in ("title", "description", "$comment") or key.startswith("x-"):
            continue  # annotations only slow the compiled engine down
        else:
            out[key] = fast_variant(value, top=False)
    fmt = out.get("format")
    if fmt in _SHAPE_PATTERNS and "pattern" not in out:
        del out["format"]
        out["pattern"] = _SHAPE_PATTERNS[fmt]
    elif fmt == "licence-date":
        del out["format"]
        out.setdefault("allOf", []).append(_LICENCE_DATE)
    elif fmt == "date-time":
        del out["format"]
        out.setdefault("allOf", []).append(_DATE_TIME)
    low, high = out.get("minimum"), out.get("maximum")
    if _fractional(low) or _fractional(high):
        out.pop("minimum", None)
        out.pop("maximum", None)
        out[_RANGE] = [low, high]
    _fold_numbers(out)
    if top and out.get("unevaluatedProperties") is False and "properties" in out:
        del out["unevaluatedProperties"]
        out["additionalProperties"] = False
    return out


# --- canonical form ------------------------------------------------------------------------

_DATE_SUFFIXES = ("_on", "_until", "_date")


def canonicalise(document: Any) -> Any:
    """Jalali dates become ISO Gregorian; everything else is already canonical."""
    if isinstance(document, dict):
        out: dict[str, Any] = {}
        for key, value in document.items():
            if isinstance(value, str) and key.endswith(_DATE_SUFFIXES):
                out[key] = jalali.to_iso_date(value)
            else:
                out[key] = canonicalise(value)
        return out
    if isinstance(document, list):
        return [canonicalise(item) for item in document]
    return document


# --- errors -> issues ----------------------------------------------------------------------

_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")


def _pointer(prefix: str, path: Iterable[Any]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return prefix + "".join("/" + p for p in parts)


def _issues(errors: Iterable[ValidationError], prefix: str) -> Iterator[Issue]:
    for error in errors:
        yield from _explain(error, prefix)


def _explain(error: ValidationError, prefix: str) -> Iterator[Issue]:
    rule = str(_rule_of(error))
    here = _pointer(prefix, error.absolute_path)
    instance = error.instance
    if rule == "required" and isinstance(instance, dict):
        for name in _value_of(error):
            if name not in instance:
                yield Issue(
                    f"{here}/{name}",
                    "required",
                    "this field is required",
                    "این فیلد الزامی است",
                )
        return
    if rule in ("unevaluatedProperties", "additionalProperties") and isinstance(instance, dict):
        named = set(_QUOTED.findall(error.message.split("(", 1)[-1]))
        for name in instance:
            if name in named:
                yield Issue(
                    f"{here}/{name}",
                    rule,
                    "unexpected field: not in the schema for this licence type",
                    "فیلد ناشناخته: در شمای این نوع مجوز تعریف نشده است",
                )
        return
    key = str(error.absolute_path[-1]) if error.absolute_path else ""
    value = mask_value(key, instance) if _is_scalar(instance) else None
    if rule == "format":
        english, persian = formats.explain(str(_value_of(error)), instance)
        yield Issue(here, f"format:{_value_of(error)}", english, persian, value)
        return
    english, persian = _MESSAGES.get(rule, _default_message)(error)
    yield Issue(here, rule, english, persian, value)


def _value_of(error: ValidationError) -> Any:
    """The keyword's value in the schema (typed loosely by the stubs)."""
    return error.validator_value


def _rule_of(error: ValidationError) -> Any:
    return error.validator


def _is_scalar(value: Any) -> bool:
    return (
        value is None
        or isinstance(value, str | int | float | bool)
        or type(value).__name__ == "Decimal"
    )


_JSON_TYPES_FA = {
    "string": "رشته",
    "integer": "عدد صحیح",
    "number": "عدد",
    "object": "شیء",
    "array": "آرایه",
    "boolean": "بولی",
    "null": "تهی",
}


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if value is None:
        return "null"
    return "number"


def _type_message(error: ValidationError) -> tuple[str, str]:
    expected = _value_of(error)
    names = [str(n) for n in (expected if isinstance(expected, list) else [expected])]
    seen = _json_type(error.instance)
    fa = " یا ".join(_JSON_TYPES_FA.get(n, n) for n in names)
    return (
        f"must be {' or '.join(names)}, not {seen}",
        f"مقدار باید از نوع {fa} باشد، نه {_JSON_TYPES_FA.get(seen, seen)}",
    )


def _enum_message(error: ValidationError) -> tuple[str, str]:
    allowed = ", ".join(str(v) for v in _value_of(error))
    return f"must be one of: {allowed}", f"مقدار باید یکی از این‌ها باشد: {allowed}"


def _const_message(error: ValidationError) -> tuple[str, str]:
    return f"must be {_value_of(error)}", f"مقدار باید {_value_of(error)} باشد"


def _bound(english: str, persian: str) -> Any:
    def message(error: ValidationError) -> tuple[str, str]:
        return english.format(_value_of(error)), persian.format(_value_of(error))

    return message


def _default_message(error: ValidationError) -> tuple[str, str]:
    return error.message, f"مقدار با قاعده «{error.validator}» سازگار نیست"


_MESSAGES: dict[str, Any] = {
    "type": _type_message,
    "enum": _enum_message,
    "const": _const_message,
    "minimum": _bound("must be at least {}", "مقدار باید دست‌کم {} باشد"),
    "maximum": _bound("must be at most {}", "مقدار باید حداکثر {} باشد"),
    "exclusiveMinimum": _bound("must be greater than {}", "مقدار باید بیشتر از {} باشد"),
    "exclusiveMaximum": _bound("must be less than {}", "مقدار باید کمتر از {} باشد"),
    "minLength": _bound("must have at least {} characters", "دست‌کم {} نویسه لازم است"),
    "maxLength": _bound("must have at most {} characters", "حداکثر {} نویسه مجاز است"),
    "pattern": _bound("does not match the pattern {}", "با الگوی {} سازگار نیست"),
    "minItems": _bound("must have at least {} items", "دست‌کم {} مورد لازم است"),
    "maxItems": _bound("must have at most {} items", "حداکثر {} مورد مجاز است"),
    "uniqueItems": _bound("items must be unique", "موارد نباید تکراری باشند"),
    "multipleOf": _bound("must be a multiple of {}", "مقدار باید مضربی از {} باشد"),
}
