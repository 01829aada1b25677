"""Drain, observe and verify a local data run; build the report `make run` prints.

Facts come from where they live: the sender's answers, the store and archive in moto (read
with plain boto3), the portal simulator's admin endpoint, and the change feed as the
reference consumer (`chalicelib.cli.feed.collect`) reads it.
"""

from __future__ import annotations

import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from boto3.dynamodb.types import TypeDeserializer

from infra.local.sender import Outcome, problem_pointers, problem_reason
from infra.local.stack import EndpointSession, StackInfo

SETTLED = {"synced", "rejected", "dead_lettered"}
_deserialize = TypeDeserializer().deserialize


def scan_states(session: EndpointSession, table: str) -> dict[str, dict[str, Any]]:
    """Every licence's STATE item (a Scan is fine here: this is the test harness, not the app)."""
    client = session.client("dynamodb")
    states: dict[str, dict[str, Any]] = {}
    history = 0
    kwargs: dict[str, Any] = {"TableName": table}
    while True:
        page = client.scan(**kwargs)
        for raw in page.get("Items", []):
            item = {k: _deserialize(v) for k, v in raw.items()}
            if item.get("sk") == "STATE":
                states[str(item["pk"]).removeprefix("LIC#")] = item
            elif str(item.get("sk", "")).startswith("EVT#"):
                history += 1
        if "LastEvaluatedKey" not in page:
            break
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    states["__history__"] = {"count": history}
    return states


def queue_depth(session: EndpointSession, url: str) -> tuple[int, int, int]:
    attrs = session.client("sqs").get_queue_attributes(
        QueueUrl=url,
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )["Attributes"]
    return (
        int(attrs.get("ApproximateNumberOfMessages", 0)),
        int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
    )


def archive_count(session: EndpointSession, bucket: str, prefix: str = "raw/") -> int:
    client = session.client("s3")
    count = 0
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        page = client.list_object_versions(**kwargs)
        count += len(page.get("Versions", []))
        if not page.get("IsTruncated"):
            return count
        kwargs["KeyMarker"] = page.get("NextKeyMarker")
        kwargs["VersionIdMarker"] = page.get("NextVersionIdMarker")


def portal_state(info: StackInfo) -> dict[str, Any]:
    response = requests.get(info.portal_admin_url, timeout=10)
    response.raise_for_status()
    data: dict[str, Any] = response.json()
    return data


def poller_stats(info: StackInfo) -> dict[str, Any]:
    """The pollers' counters, summed; `schedule_runs` maps each scheduled job to its runs."""
    totals: Counter[str] = Counter()
    schedules: Counter[str] = Counter()
    for path in Path(info.stats_dir).glob("poller-*.json"):
        try:
            stats = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for key, value in stats.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                totals[key] += int(value)
        schedules.update(stats.get("schedule_runs", {}))
    return {**totals, "schedule_runs": dict(schedules)}


def drain(
    session: EndpointSession,
    info: StackInfo,
    expected_licences: set[str],
    timeout: float,
    on_tick: Callable[[dict[str, int]], None] | None = None,
) -> bool:
    """Wait until the sync queue is empty and every stored licence has settled."""
    deadline = time.monotonic() + timeout
    table = info.outputs["LicencesTable"]
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        visible, in_flight, delayed = queue_depth(session, info.outputs["SyncQueueUrl"])
        states = scan_states(session, table)
        states.pop("__history__", None)
        unsettled = [
            lid
            for lid in expected_licences
            if lid not in states
            or states[lid].get("sync_status") not in SETTLED
            or "outbox_at" in states[lid]
        ]
        tick = {
            "queued": visible + delayed,
            "in_flight": in_flight,
            "unsettled": len(unsettled),
            "licences": len(states),
        }
        if on_tick:
            on_tick(tick)
        if visible + in_flight + delayed == 0 and not unsettled:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= 1.5:  # stable across two looks
                return True
        else:
            quiet_since = None
        time.sleep(1.0)
    return False


@dataclass
class Verdict:
    failures: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failures

    def fail(self, message: str) -> None:
        self.failures.append(message)


def verify(  # noqa: PLR0915 - one numbered block per check
    outcomes: list[Outcome],
    states: dict[str, dict[str, Any]],
    portal: dict[str, Any],
    feed_entries: list[dict[str, Any]],
    archived: int,
) -> Verdict:
    verdict = Verdict()
    history_count = int(states.pop("__history__", {}).get("count", 0))

    # 1. Every input has the answer we expect; every rejection carries a reason.
    rejected_by_reason: Counter[str] = Counter()
    for outcome in outcomes:
        d = outcome.delivery
        if d.expect == "accept":
            if not outcome.accepted:
                verdict.fail(
                    f"{d.licence_id} v{d.version} {d.event_type} (seq {d.seq}) was not accepted: "
                    f"{outcome.status} {problem_reason(outcome.body) or outcome.error}"
                )
            continue
        label = d.reason or "unlabelled"
        if outcome.status != d.expect_status:
            verdict.fail(
                f"expected {d.expect_status} for {label} (seq {d.seq}), got {outcome.status}: "
                f"{problem_reason(outcome.body)}"
            )
            continue
        reason = problem_reason(outcome.body)
        if not reason:
            verdict.fail(f"rejection without a reason: {label} (seq {d.seq})")
            continue
        if d.expect_pointer and not any(
            p.startswith(d.expect_pointer) for p in problem_pointers(outcome.body)
        ):
            verdict.fail(
                f"{label} (seq {d.seq}) did not name {d.expect_pointer}: "
                f"{problem_pointers(outcome.body)}"
            )
        rejected_by_reason[f"{outcome.status} {label}"] += 1

    # 2. What the store holds is what the sender was told was applied.
    applied: dict[str, set[int]] = defaultdict(set)
    latest: dict[str, int] = {}
    accepted_ids: set[tuple[str, str]] = set()
    for outcome in outcomes:
        if outcome.accepted:
            accepted_ids.add((outcome.delivery.source, outcome.delivery.webhook_id))
        if outcome.applied:
            lid, version = outcome.delivery.licence_id, outcome.delivery.version
            applied[lid].add(version)
            latest[lid] = max(latest.get(lid, 0), version)
    for lid, version in latest.items():
        state = states.get(lid)
        if state is None:
            verdict.fail(f"{lid}: accepted but not in the store")
        elif int(state["version"]) != version:
            verdict.fail(f"{lid}: store at v{state['version']}, last applied v{version}")
    if history_count != len(accepted_ids):
        verdict.fail(
            f"history holds {history_count} events, {len(accepted_ids)} distinct deliveries "
            "were accepted"
        )

    # 3. Every accepted licence is in the portal at its latest version.
    at_portal = {e["licence_id"]: e for e in portal.get("licences", [])}
    sync_status = Counter(str(s.get("sync_status")) for s in states.values())
    for lid, state in states.items():
        entry = at_portal.get(lid)
        if entry is None:
            verdict.fail(f"{lid}: not in the portal (sync {state.get('sync_status')})")
        elif int(entry["version"]) != int(state["version"]):
            verdict.fail(
                f"{lid}: portal at v{entry['version']}, ours v{state['version']} "
                f"(sync {state.get('sync_status')})"
            )
        elif str(entry.get("status")) != str(state.get("status")):
            verdict.fail(f"{lid}: portal says {entry.get('status')}, ours {state.get('status')}")

    # 4. The feed holds each change exactly once, and nothing else.
    seen = Counter((e["licence_id"], int(e["version"])) for e in feed_entries)
    for key, count in seen.items():
        if count != 1:
            verdict.fail(f"feed holds {key[0]} v{key[1]} {count} times")
    wanted = {(lid, v) for lid, versions in applied.items() for v in versions}
    for lid, version in sorted(wanted - set(seen)):
        verdict.fail(f"feed misses {lid} v{version}")
    for lid, version in sorted(set(seen) - wanted):
        verdict.fail(f"feed has {lid} v{version}, which no accepted event applied")
    sequences = [int(e["sequence"]) for e in feed_entries]
    if sequences != sorted(sequences) or len(set(sequences)) != len(sequences):
        verdict.fail("feed sequences are not strictly increasing")
    elif sequences and sequences != list(range(sequences[0], sequences[0] + len(sequences))):
        verdict.fail("feed sequences have gaps")

    # 5. Nothing lost: one archived object per authenticated request.
    authenticated = sum(1 for o in outcomes for s in o.statuses if s not in (401, 413, 415))
    if archived != authenticated:
        verdict.fail(f"archive holds {archived} objects, {authenticated} requests authenticated")

    verdict.figures = {
        "rejected_by_reason": dict(sorted(rejected_by_reason.items())),
        "sync_status": dict(sorted(sync_status.items())),
        "licences": len(states),
        "feed_entries": len(feed_entries),
        "archived": archived,
        "authenticated_requests": authenticated,
        "history_events": history_count,
    }
    return verdict
