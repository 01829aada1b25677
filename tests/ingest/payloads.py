"""Webhook bodies for the ingest tests, derived from the bundled examples (tests/examples).

A lifecycle is played on FOOD_TRUCK/valid-2 (an application from district 20 whose holder is
written with Persian digits, Arabic yeh and a ZWNJ): each step changes only the event type,
the status, the version and what that status needs.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from chalicelib.lifecycle import TRANSITIONS

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

APPLICATION = "FOOD_TRUCK/valid-2.json"
# The national id and mobile of APPLICATION's holder, as they read after normalisation.
HOLDER_NATIONAL_ID = "0202170470"
HOLDER_MOBILE = "09396879268"

VALIDITY = {"issued_on": "2025-03-16", "valid_until": "2026-03-15"}

# event -> status it leads to (step_completed keeps the current one; callers pass it)
TARGET = {name: after for name, (_, after) in TRANSITIONS.items() if after is not None}


def example(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((EXAMPLES / name).read_text(encoding="utf-8"))
    return document


def example_bytes(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


def event(
    name: str,
    version: int,
    *,
    base: str = APPLICATION,
    status: str | None = None,
    occurred_at: str | None = None,
) -> dict[str, Any]:
    document = copy.deepcopy(example(base))
    document["event_type"] = f"licence.{name}"
    document["event_id"] = f"evt_{name}_{version:04d}_x"
    licence = document["licence"]
    licence["version"] = version
    licence["status"] = status or TARGET[name]
    if licence["status"] in ("active", "suspended", "revoked", "expired"):
        licence.setdefault("validity", dict(VALIDITY))
    if occurred_at:
        document["occurred_at"] = occurred_at
    else:
        document["occurred_at"] = f"2025-01-{10 + version:02d}T10:00:00+03:30"
    return document


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
