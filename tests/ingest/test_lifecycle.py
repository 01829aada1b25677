"""The state machine on its own (docs/DESIGN.md, "Lifecycle")."""

from __future__ import annotations

import pytest

from chalicelib.lifecycle import Current, IllegalTransition, check_event, decide
from tests.ingest.payloads import event

ALLOWED = [
    (None, "applied", "applied"),
    (None, "issued", "active"),  # a legacy licence given its unique id
    ("applied", "review_started", "under_review"),
    ("under_review", "step_completed", "under_review"),
    ("under_review", "approved", "approved"),
    ("approved", "issued", "active"),
    ("active", "renewed", "active"),
    ("active", "amended", "active"),
    ("active", "suspended", "suspended"),
    ("suspended", "reinstated", "active"),
    ("suspended", "revoked", "revoked"),
    ("active", "expired", "expired"),
    ("approved", "cancelled", "cancelled"),
]


@pytest.mark.parametrize(("before", "name", "after"), ALLOWED)
def test_allowed_transitions(before: str | None, name: str, after: str) -> None:
    current = Current(before, 4) if before else None
    decision = decide(current, f"licence.{name}", 5)
    assert (decision.applied, decision.status_before, decision.status_after) == (
        True,
        before,
        after,
    )


@pytest.mark.parametrize(
    ("before", "name"),
    [
        (None, "approved"),
        ("applied", "applied"),
        ("applied", "approved"),
        ("active", "reinstated"),
        ("revoked", "reinstated"),
        ("expired", "renewed"),
        ("cancelled", "cancelled"),
        ("active", "step_completed"),
    ],
)
def test_illegal_transitions(before: str | None, name: str) -> None:
    with pytest.raises(IllegalTransition) as raised:
        decide(Current(before, 4) if before else None, f"licence.{name}", 5)
    assert raised.value.reason and raised.value.reason_fa


def test_an_older_event_is_never_applied_even_if_illegal() -> None:
    decision = decide(Current("revoked", 8), "licence.applied", 1)
    assert (decision.applied, decision.status_after) == (False, "revoked")


def test_event_consistency() -> None:
    assert check_event(event("issued", 5)) == []
    assert [v.pointer for v in check_event(event("issued", 5, status="approved"))] == [
        "/licence/status"
    ]
    assert check_event(event("step_completed", 2, status="under_review")) == []
    assert [v.pointer for v in check_event(event("step_completed", 2, status="active"))] == [
        "/licence/status"
    ]
