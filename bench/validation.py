"""Validation: ours (compiled fast path, full list only when invalid) vs jsonschema.

Payloads: 1,000 valid and 1,000 invalid, generated from the bundled examples of all 22
types (distinct ids, the real size of a licence body, about 1.6 KB).
"""

from __future__ import annotations

import copy
import json
import random
import statistics
from typing import Any

import jsonschema

from bench.report import Row, interleaved, per_call
from chalicelib.jsonparse import parse_json
from chalicelib.licence_types import CODES
from chalicelib.normalise import normalise_document
from chalicelib.validation import (
    ENVELOPE_ID,
    LicenceValidator,
    build_registry,
    load_schemas,
    type_schema_id,
    validate_event,
)
from tests.examples_index import load, valid_examples

_DEFECTS = (
    lambda d: d["licence"]["holder"].update(national_id="0084575949"),
    lambda d: d["licence"]["location"].update(district=23),
    lambda d: d["licence"].pop("business"),
    lambda d: d["licence"]["attributes"].update(unexpected="x"),
    lambda d: d["licence"].setdefault("validity", {}).update(issued_on="1402/12/30"),
)


def payloads(count: int, seed: int = 11) -> tuple[list[Any], list[Any]]:
    rng = random.Random(seed)
    bases = [normalise_document(load(p)) for p in valid_examples()]
    valid, invalid = [], []
    for i in range(count):
        doc = copy.deepcopy(bases[i % len(bases)])
        doc["event_id"] = f"bench-{i:08d}"
        valid.append(doc)
        bad = copy.deepcopy(doc)
        rng.choice(_DEFECTS)(bad)
        invalid.append(bad)
    return valid, invalid


def run(rounds: int = 5, count: int = 1000) -> list[Row]:
    schemas = load_schemas()
    ours = LicenceValidator(schemas)
    registry = build_registry(schemas)
    checker = jsonschema.FormatChecker()
    from chalicelib.formats import CHECKS

    for name, check in CHECKS.items():
        checker.checks(name)(check)
    cached = {
        sid: jsonschema.Draft202012Validator(
            schemas[sid], registry=registry, format_checker=checker
        )
        for sid in [ENVELOPE_ID, *(type_schema_id(code) for code in CODES)]
    }
    valid, invalid = payloads(count)
    size = statistics.median(
        len(json.dumps(d, ensure_ascii=False, default=str).encode()) for d in valid
    )

    def cached_valid(doc: Any) -> bool:
        lic = doc["licence"]
        return cached[ENVELOPE_ID].is_valid(doc) and cached[
            type_schema_id(lic["licence_type"])
        ].is_valid(lic)

    def cached_errors(doc: Any) -> list[Any]:
        lic = doc["licence"]
        return list(cached[ENVELOPE_ID].iter_errors(doc)) + list(
            cached[type_schema_id(lic["licence_type"])].iter_errors(lic)
        )

    def naive(doc: Any) -> bool:
        try:
            jsonschema.validate(
                doc, schemas[ENVELOPE_ID], registry=registry, format_checker=checker
            )
            lic = doc["licence"]
            jsonschema.validate(
                lic,
                schemas[type_schema_id(lic["licence_type"])],
                registry=registry,
                format_checker=checker,
            )
        except jsonschema.ValidationError:
            return False
        return True

    naive_sample = valid[: max(50, count // 10)]  # the naive way is slow; a sample suffices
    naive_bad = invalid[: max(50, count // 10)]
    timings = interleaved(
        {
            "ours_valid": lambda: per_call(ours.is_valid, valid),
            "cached_valid": lambda: per_call(cached_valid, valid),
            "naive_valid": lambda: per_call(naive, naive_sample),
            "ours_invalid": lambda: per_call(ours.issues, invalid),
            "cached_invalid": lambda: per_call(cached_errors, invalid),
            "naive_invalid": lambda: per_call(naive, naive_bad),
            "pipeline_valid": lambda: per_call(validate_event, valid),
            "normalise": lambda: per_call(normalise_document, valid),
        },
        rounds,
    )
    assert all(ours.is_valid(d) for d in valid) and not any(ours.is_valid(d) for d in invalid)
    assert all(ours.issues(d) for d in invalid)
    raw = json.dumps(valid[0], ensure_ascii=False, default=str).encode()
    parse_time = statistics.median(per_call(parse_json, [raw] * 2000))
    section = "validation"
    return [
        Row(
            section,
            f"valid payload ({size / 1024:.1f} KB), fast path",
            "cached jsonschema",
            timings["cached_valid"],
            timings["ours_valid"],
            "≤ 10 µs and ≥ 50× faster",
            timings["ours_valid"] <= 10e-6
            and timings["cached_valid"] / timings["ours_valid"] >= 50,
        ),
        Row(
            section,
            "valid payload, fast path",
            "naive validate()",
            timings["naive_valid"],
            timings["ours_valid"],
        ),
        Row(
            section,
            "invalid payload, complete error list",
            "cached jsonschema",
            timings["cached_invalid"],
            timings["ours_invalid"],
        ),
        Row(
            section,
            "invalid payload, complete error list",
            "naive validate() (first error only)",
            timings["naive_invalid"],
            timings["ours_invalid"],
        ),
        Row(
            section,
            "whole pipeline: normalise + validate + canonicalise",
            "cached jsonschema (validate only)",
            timings["cached_valid"],
            timings["pipeline_valid"],
            notes=[
                f"normalise alone {timings['normalise'] * 1e6:.1f} µs; "
                f"strict JSON parse {parse_time * 1e6:.1f} µs"
            ],
        ),
    ]
