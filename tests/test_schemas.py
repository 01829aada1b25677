"""The JSON Schemas and the bundled example payloads: well-formed, offline, closed, consistent.

Structural checks only (format assertion off): the format checks and the expected error
pointers of the invalid examples are exercised through chalicelib.validation elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from chalicelib.licence_types import CODES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_DIR = ROOT / "chalicelib" / "schemas"
EXAMPLES = ROOT / "tests" / "examples"
BASE = "https://schemas.licence-bridge.ir/"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
ZWNJ = "\u200c"

SCHEMA_FILES = sorted(p for p in SCHEMA_DIR.rglob("*.json") if "portal" not in p.parts)
VALID = sorted(EXAMPLES.glob("*/valid-*.json"))
INVALID = sorted(
    p for p in EXAMPLES.glob("*/invalid-*.json") if not p.name.endswith(".expect.json")
)

# event -> the status the licence record must carry after it (DESIGN.md, lifecycle)
STATUS_AFTER = {
    "licence.applied": {"applied"},
    "licence.review_started": {"under_review"},
    "licence.step_completed": {"applied", "under_review", "approved"},
    "licence.approved": {"approved"},
    "licence.issued": {"active"},
    "licence.renewed": {"active"},
    "licence.amended": {"active"},
    "licence.suspended": {"suspended"},
    "licence.reinstated": {"active"},
    "licence.revoked": {"revoked"},
    "licence.cancelled": {"cancelled"},
    "licence.expired": {"expired"},
}


def _rel(path: Path) -> str:
    return path.relative_to(SCHEMA_DIR).as_posix()


@cache
def schemas() -> dict[str, dict[str, Any]]:
    return {_rel(p): json.loads(p.read_text(encoding="utf-8")) for p in SCHEMA_FILES}


@cache
def registry() -> Registry:
    # No `retrieve`: anything not bundled is Unresolvable rather than fetched.
    resources = [
        (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012))
        for s in schemas().values()
    ]
    return Registry().with_resources(resources).crawl()


def validator(rel: str) -> Draft202012Validator:
    return Draft202012Validator(schemas()[rel], registry=registry())  # formats not asserted


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def errors(event: dict[str, Any], code: str) -> list[tuple[str, str]]:
    """(pointer, keyword) for every structural error, the licence under /licence."""
    found = [
        ("/" + "/".join(map(str, e.absolute_path)), str(e.validator))
        for e in validator("envelope.json").iter_errors(event)
    ]
    found += [
        ("/licence/" + "/".join(map(str, e.absolute_path)), str(e.validator))
        for e in validator(f"types/{code}.json").iter_errors(event["licence"])
    ]
    return sorted(found)


def walk(node: Any, path: str = "#") -> Iterator[tuple[str, Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


# ------------------------------------------------------------------------------ schemas


def test_the_schema_set_is_complete() -> None:
    names = set(schemas())
    assert {"common/defs.json", "licence.json", "envelope.json"} <= names
    types = {
        n.removeprefix("types/").removesuffix(".json") for n in names if n.startswith("types/")
    }
    assert types == set(CODES)
    assert len(types) == 22
    assert len(names) == 25


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=_rel)
def test_schema_is_self_describing_and_valid(path: Path) -> None:
    schema = schemas()[_rel(path)]
    assert schema["$schema"] == DRAFT
    assert schema["$id"] == BASE + _rel(path)
    for key in ("title", "description", "x-title-fa", "x-description-fa"):
        assert isinstance(schema[key], str), key
        assert schema[key].strip(), key
    assert any("\u0600" <= ch <= "\u06ff" for ch in schema["x-title-fa"])
    Draft202012Validator.check_schema(schema)


def test_patterns_use_ascii_digit_classes() -> None:
    for rel, schema in schemas().items():
        for where, node in walk(schema):
            if isinstance(node, dict) and isinstance(node.get("pattern"), str):
                assert "\\d" not in node["pattern"], f"{rel} {where}"


def test_every_ref_resolves_offline_in_one_registry() -> None:
    reg = registry()
    refs = 0
    for schema in schemas().values():
        resolver = reg.resolver(base_uri=schema["$id"])
        for where, node in walk(schema):
            if isinstance(node, dict) and isinstance(node.get("$ref"), str):
                try:
                    resolved = resolver.lookup(node["$ref"])
                except Unresolvable as exc:  # pragma: no cover - the failure message
                    pytest.fail(f"{schema['$id']} {where}: {node['$ref']} ({exc})")
                assert isinstance(resolved.contents, dict | bool)
                refs += 1
    assert refs > 80
    for code in CODES:
        licence = reg.resolver(base_uri=f"{BASE}types/{code}.json").lookup("../licence.json")
        assert licence.contents["$id"] == BASE + "licence.json"
    # nothing outside our own namespace is referenced
    with pytest.raises(Unresolvable):
        reg.resolver(base_uri=BASE + "licence.json").lookup("https://example.org/x.json")


def test_main_definitions_are_bilingual() -> None:
    defs = schemas()["common/defs.json"]["$defs"]
    for name in ("person", "organisation", "holder", "location", "fee", "validity", "steps"):
        assert defs[name]["x-title-fa"], name
        for prop, sub in defs[name].get("properties", {}).items():
            target = sub if "title" in sub else defs[sub["$ref"].rsplit("/", 1)[-1]]
            assert target["title"] and target["x-title-fa"], f"{name}.{prop}"


def test_holder_is_discriminated_with_if_then_else() -> None:
    holder = schemas()["common/defs.json"]["$defs"]["holder"]
    assert "oneOf" not in holder and "anyOf" not in holder
    assert holder["then"] == {"$ref": "#/$defs/person"}
    assert holder["else"]["then"] == {"$ref": "#/$defs/organisation"}


def test_envelope_is_closed_and_lists_the_vocabulary() -> None:
    env = schemas()["envelope.json"]
    assert env["additionalProperties"] is False
    assert set(env["properties"]["event_type"]["enum"]) == set(STATUS_AFTER)
    assert env["properties"]["licence"]["properties"]["licence_type"]["enum"] == list(CODES)


@pytest.mark.parametrize("code", CODES)
def test_type_schema_shape(code: str) -> None:
    schema = schemas()[f"types/{code}.json"]
    common = schemas()["licence.json"]["properties"]
    assert schema["allOf"] == [{"$ref": "../licence.json"}]
    assert schema["unevaluatedProperties"] is False
    assert schema["properties"]["licence_type"] == {"const": code}
    # every common field is named at the top, so a failing allOf cannot make them "unevaluated"
    assert set(schema["properties"]) == set(common)
    attributes = schema["properties"]["attributes"]
    assert attributes["additionalProperties"] is False
    assert attributes["required"]
    assert set(attributes["required"]) <= set(attributes["properties"])
    for name, prop in attributes["properties"].items():
        for key in ("title", "description", "x-title-fa", "x-description-fa"):
            assert prop.get(key), f"{code}.{name} lacks {key}"
        if name.endswith("_phone"):
            assert prop.get("pattern") == "^0[1-8][0-9]{9}$" or prop.get("$ref", "").endswith(
                ("/landline", "/mobile")
            )
        if name.endswith(("_on", "_until", "_date")):
            assert prop["$ref"].endswith("/licence_date"), name
        if "plate" in name:
            assert prop["$ref"].endswith(("/vehicle_plate", "/vehicle_plates")), name


@pytest.mark.parametrize("code", CODES)
def test_type_schema_is_closed(code: str) -> None:
    event = load(EXAMPLES / code / "valid-1.json")
    assert errors(event, code) == []

    event["licence"]["colour"] = "red"
    event["licence"]["attributes"]["colour"] = "red"
    assert errors(event, code) == [
        ("/licence/", "unevaluatedProperties"),
        ("/licence/attributes", "additionalProperties"),
    ]


def test_an_error_in_the_common_part_is_reported_alone() -> None:
    # A failing allOf branch drops its annotations; the top-level property list keeps
    # unevaluatedProperties from flagging every common field as well.
    event = load(EXAMPLES / "FOOD_TRUCK" / "valid-1.json")
    event["licence"]["location"]["district"] = 23
    event["licence"]["fees"][0]["amount_rials"] = -1
    assert errors(event, "FOOD_TRUCK") == [
        ("/licence/fees/0/amount_rials", "minimum"),
        ("/licence/location/district", "maximum"),
    ]


def test_licence_type_must_match_the_type_schema() -> None:
    event = load(EXAMPLES / "TAXI_VEHICLE" / "valid-1.json")
    assert errors(event, "TAXI_DRIVER")[:1] == [("/licence/attributes", "additionalProperties")]
    assert ("/licence/licence_type", "const") in errors(event, "TAXI_DRIVER")


def test_holder_errors_point_at_the_field() -> None:
    event = load(EXAMPLES / "CNG_STATION" / "valid-1.json")
    assert event["licence"]["holder"]["kind"] == "organisation"
    del event["licence"]["holder"]["registration_number"]
    event["licence"]["holder"]["mobile"] = "09121234567"
    assert errors(event, "CNG_STATION") == [
        ("/licence/holder", "additionalProperties"),
        ("/licence/holder", "required"),
    ]
    event["licence"]["holder"] = {"kind": "robot"}
    assert errors(event, "CNG_STATION") == [("/licence/holder/kind", "enum")]


# ------------------------------------------------------------------------------ examples


def test_every_type_has_examples() -> None:
    assert {p.name for p in EXAMPLES.iterdir() if p.is_dir()} == set(CODES)
    for code in CODES:
        folder = EXAMPLES / code
        valid = list(folder.glob("valid-*.json"))
        invalid = [p for p in folder.glob("invalid-*.json") if not p.name.endswith(".expect.json")]
        assert len(valid) >= 1, code
        assert len(invalid) >= 3, code
        for path in invalid:
            assert path.with_name(path.stem + ".expect.json").is_file(), path.name
    assert len(VALID) >= 30
    assert len(INVALID) >= 3 * 22


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_example_is_structurally_valid(path: Path) -> None:
    event = load(path)
    code = path.parent.name
    assert event["licence"]["licence_type"] == code
    assert errors(event, code) == []
    assert 1000 <= len(path.read_bytes()) <= 2100


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_example_follows_the_lifecycle(path: Path) -> None:
    event = load(path)
    licence = event["licence"]
    assert licence["status"] in STATUS_AFTER[event["event_type"]]
    if event["event_type"] == "licence.applied":
        assert licence["version"] == 1
        assert "validity" not in licence
    if licence["status"] in ("active", "suspended", "expired", "revoked"):
        assert set(licence["validity"]) == {"issued_on", "valid_until"}
    assert licence["steps"]["done"] <= licence["steps"]["total"]
    district = licence["location"]["district"]
    assert licence["licence_id"].startswith(f"TM-{district:02d}-")


@pytest.mark.parametrize("path", INVALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_invalid_example_has_an_exact_expectation(path: Path) -> None:
    expect = load(path.with_name(path.stem + ".expect.json"))
    assert list(expect) == ["pointers"]
    pointers = expect["pointers"]
    assert pointers, path.name
    assert pointers == sorted(pointers)
    assert len(set(pointers)) == len(pointers)
    assert all(p.startswith("/") for p in pointers)
    event = load(path)
    assert isinstance(event, dict)
    assert "licence" in event


_TO_ASCII = str.maketrans("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "01234567890123456789")


def _code_melli_ok(value: str) -> bool:
    digits = value.translate(_TO_ASCII)
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    r = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9])) % 11
    return int(digits[9]) == (r if r < 2 else 11 - r)


def _legal_id_ok(value: str) -> bool:
    if len(value) != 11 or not value.isdigit():
        return False
    c = int(value[9]) + 2
    weights = (29, 27, 23, 19, 17, 29, 27, 23, 19, 17)
    r = sum((c + int(d)) * w for d, w in zip(value[:10], weights, strict=True)) % 11
    return int(value[10]) == (0 if r == 10 else r)


def test_checksum_helpers_agree_with_domain_vectors() -> None:
    assert _code_melli_ok("0084575948")
    assert _code_melli_ok("۰۰۸۴۵۷۵۹۴۸")
    assert not _code_melli_ok("0684159415")
    assert _legal_id_ok("10380284790")
    assert not _legal_id_ok("10380284792")


@pytest.mark.parametrize("path", VALID, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_valid_example_identifiers_are_checksummed(path: Path) -> None:
    holder = load(path)["licence"]["holder"]
    if holder["kind"] == "person":
        assert _code_melli_ok(holder["national_id"])
    else:
        assert _legal_id_ok(holder["national_id"])
        assert _code_melli_ok(holder["representative"]["national_id"])


def _quirks(text: str) -> set[str]:
    found = set()
    if "ي" in text or "ك" in text:
        found.add("arabic-letters")
    if any("\u06f0" <= ch <= "\u06f9" or "\u0660" <= ch <= "\u0669" for ch in text):
        found.add("non-ascii-digits")
    if '"+98' in text or '"0098' in text:
        found.add("phone-prefix")
    if '"14' in text and "/" in text.split('"validity"', 1)[-1][:80]:
        found.add("jalali-date")
    return found


def test_about_a_third_of_valid_examples_carry_real_world_quirks() -> None:
    quirky = [p for p in VALID if _quirks(p.read_text(encoding="utf-8"))]
    assert len(quirky) * 4 >= len(VALID)
    every = set().union(*(_quirks(p.read_text(encoding="utf-8")) for p in VALID))
    assert every == {"arabic-letters", "non-ascii-digits", "phone-prefix", "jalali-date"}
    holders = {load(p)["licence"]["holder"]["kind"] for p in VALID}
    assert holders == {"person", "organisation"}


def test_persian_text_is_utf8_and_zwnj_survives_a_round_trip() -> None:
    with_zwnj = 0
    for path in [*VALID, *INVALID]:
        raw = path.read_bytes()
        text = raw.decode("utf-8")  # strict: raises on invalid UTF-8
        assert not text.startswith("\ufeff")
        event = json.loads(text)
        again = json.loads(json.dumps(event, ensure_ascii=False))
        assert again == event
        assert json.dumps(again, ensure_ascii=False).count(ZWNJ) == text.count(ZWNJ)
        if ZWNJ in text:
            with_zwnj += 1
            assert ZWNJ.encode() in raw
    assert with_zwnj >= len(VALID)
    name = load(EXAMPLES / "FOOD_TRUCK" / "valid-1.json")["licence"]["business"]["name"]
    assert name == "ون\u200cکافه گل\u200cسرخ"
