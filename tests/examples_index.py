"""The bundled example payloads, indexed for data-driven tests and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent / "examples"


def valid_examples() -> list[Path]:
    return sorted(EXAMPLES.glob("*/valid-*.json"))


def invalid_examples() -> list[Path]:
    return sorted(
        p for p in EXAMPLES.glob("*/invalid-*.json") if not p.name.endswith(".expect.json")
    )


def expected_pointers(path: Path) -> list[str]:
    expect = path.with_name(path.name.replace(".json", ".expect.json"))
    pointers: list[str] = json.loads(expect.read_text(encoding="utf-8"))["pointers"]
    return sorted(pointers)


def load(path: Path) -> Any:
    from chalicelib.jsonparse import parse_json

    return parse_json(path.read_bytes())
