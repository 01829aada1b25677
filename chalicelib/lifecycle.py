"""The licence state machine (docs/DESIGN.md, "Lifecycle"). Pure: no I/O, no clock.

Two questions, asked in this order:
- `check_event`: is the event consistent in itself (the record's status is where the event
  leads, an active licence has its validity, steps done ≤ total)? Violations are 422s,
  whatever we hold, because the sender must fix the body.
- `decide`: given what we hold, is the event new (apply), old (record only), or impossible
  from the current status (409 with the reason)?
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

FINAL = frozenset({"revoked", "cancelled", "expired"})
# The marker for "we hold no licence with this id yet".
NONE = None

# event name -> (allowed current statuses, new status); None as a new status: unchanged.
TRANSITIONS: dict[str, tuple[frozenset[str | None], str | None]] = {
    "applied": (frozenset({NONE}), "applied"),
    "review_started": (frozenset({"applied"}), "under_review"),
    "step_completed": (frozenset({"applied", "under_review", "approved"}), None),
    "approved": (frozenset({"under_review"}), "approved"),
    "issued": (frozenset({"approved", NONE}), "active"),
    "renewed": (frozenset({"active"}), "active"),
    "amended": (frozenset({"active"}), "active"),
    "suspended": (frozenset({"active"}), "suspended"),
    "reinstated": (frozenset({"suspended"}), "active"),
    "revoked": (frozenset({"active", "suspended"}), "revoked"),
    "expired": (frozenset({"active", "suspended"}), "expired"),
    "cancelled": (
        frozenset({"applied", "under_review", "approved", "active", "suspended"}),
        "cancelled",
    ),
}


@dataclass(frozen=True)
class Violation:
    """Same shape as validation.Issue, so both list together in one 422."""

    pointer: str
    rule: str
    message: str
    message_fa: str
    value: Any = None


@dataclass(frozen=True)
class Current:
    status: str
    version: int


@dataclass(frozen=True)
class Decision:
    applied: bool
    status_before: str | None
    status_after: str | None  # the status we hold after this event
    reason: str | None = None  # why not applied


class IllegalTransition(Exception):
    def __init__(self, reason: str, reason_fa: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.reason_fa = reason_fa


def event_name(event_type: str) -> str:
    return event_type.removeprefix("licence.")


def check_event(event: Mapping[str, Any]) -> list[Violation]:
    """Rules a schema cannot state; `event` is a schema-valid envelope."""
    found: list[Violation] = []
    name = event_name(str(event["event_type"]))
    licence = event["licence"]
    status = licence.get("status")
    allowed, target = TRANSITIONS[name]
    expected = {target} if target is not None else {s for s in allowed if s is not None}
    if status not in expected:
        wanted = " or ".join(sorted(str(s) for s in expected))
        found.append(
            Violation(
                "/licence/status",
                "lifecycle",
                f"a {event['event_type']} event leads to status {wanted}, not {status}",
                f"رویداد {event['event_type']} به وضعیت {wanted} می‌رسد، نه {status}",
                status,
            )
        )
    if status == "active" and not licence.get("validity"):
        found.append(
            Violation(
                "/licence/validity",
                "required",
                "an active licence needs its validity (issued_on, valid_until)",
                "مجوز فعال باید اعتبار (تاریخ صدور و تاریخ پایان اعتبار) داشته باشد",
            )
        )
    steps = licence.get("steps")
    if isinstance(steps, Mapping):
        done, total = steps.get("done"), steps.get("total")
        if isinstance(done, int) and isinstance(total, int) and done > total:
            found.append(
                Violation(
                    "/licence/steps/done",
                    "maximum",
                    f"steps done ({done}) cannot exceed steps total ({total})",
                    f"مراحل انجام‌شده ({done}) نمی‌تواند بیشتر از کل مراحل ({total}) باشد",
                    done,
                )
            )
    return found


def decide(current: Current | None, event_type: str, version: int) -> Decision:
    """Apply, record as stale, or raise IllegalTransition."""
    before = current.status if current else None
    if current is not None and version <= current.version:
        reason = (
            f"version {version} is not newer than the stored version {current.version}"
            if version < current.version
            else f"version {version} is already applied"
        )
        return Decision(False, before, before, reason)
    name = event_name(event_type)
    allowed, target = TRANSITIONS[name]
    if before not in allowed:
        if before is None:
            raise IllegalTransition(
                f"{event_type} needs an existing licence, and none is recorded yet",
                f"رویداد {event_type} به مجوزی موجود نیاز دارد و هنوز مجوزی ثبت نشده است",
            )
        if before in FINAL:
            raise IllegalTransition(
                f"the licence is {before}, a final status; {event_type} cannot follow",
                f"مجوز در وضعیت نهایی {before} است و {event_type} پس از آن ممکن نیست",
            )
        raise IllegalTransition(
            f"{event_type} is not allowed when the licence is {before}",
            f"رویداد {event_type} در وضعیت {before} مجاز نیست",
        )
    return Decision(True, before, target if target is not None else before)
