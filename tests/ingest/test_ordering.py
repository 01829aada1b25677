"""Versions out of order, simultaneous duplicates, and a crash between commit and send."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import outbox, wiring
from tests.ingest.conftest import Bridge
from tests.ingest.payloads import encode, event

LICENCE = "TM-20-1403-000157"


def test_an_older_or_equal_version_is_recorded_not_applied(bridge: Bridge) -> None:
    for number, (name, version) in enumerate(
        [("applied", 1), ("review_started", 2), ("approved", 3)]
    ):
        assert bridge.post(encode(event(name, version)), webhook_id=f"m{number}").status_code == 202
    bridge.messages()
    late = bridge.post(encode(event("review_started", 2)), webhook_id="m_late")
    assert late.status_code == 202
    assert json.loads(late.body) == {
        "event_id": "evt_review_started_0002_x",
        "licence_id": LICENCE,
        "tracking_code": "1030945292",
        "version": 2,
        "applied": False,
        "sync": "skipped",
        "reason": "version 2 is not newer than the stored version 3",
    }
    again = bridge.post(encode(event("approved", 3)), webhook_id="m_same_version")
    assert json.loads(again.body)["applied"] is False

    state = bridge.state(LICENCE)
    assert state is not None and (state["status"], state["version"]) == ("approved", 3)
    history = bridge.history(LICENCE)
    assert [(h["event_type"], h["version"], h["applied"]) for h in history] == [
        ("licence.applied", 1, True),
        ("licence.review_started", 2, True),
        ("licence.approved", 3, True),
        ("licence.review_started", 2, False),
        ("licence.approved", 3, False),
    ]
    assert bridge.messages() == []  # nothing new to sync
    assert [e["version"] for e in bridge.feed_entries()] == [1, 2, 3]
    # A version gap is fine: versions are monotonic, not contiguous.
    issued = bridge.post(encode(event("issued", 7)), webhook_id="m_gap")
    assert json.loads(issued.body)["applied"] is True
    assert bridge.messages() == [{"licence_id": LICENCE, "version": 7}]


def test_simultaneous_identical_deliveries_have_one_effect(
    bridge: Bridge, serialised_moto: None
) -> None:
    body = encode(event("applied", 1))
    results: list[Any] = []
    start = threading.Barrier(6)

    def deliver() -> None:
        start.wait()
        results.append(bridge.post(body, webhook_id="msg_same"))

    threads = [threading.Thread(target=deliver) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [202] * 6
    assert len({r.body for r in results}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in results) == 5
    assert len(bridge.history(LICENCE)) == 1
    assert len(bridge.feed_entries()) == 1
    assert bridge.messages() == [{"licence_id": LICENCE, "version": 1}]


def test_different_events_racing_for_one_licence_are_both_decided_on_fresh_state(
    bridge: Bridge, serialised_moto: None
) -> None:
    assert bridge.post(encode(event("applied", 1)), webhook_id="r0").status_code == 202
    bodies = {"r1": encode(event("review_started", 2)), "r2": encode(event("cancelled", 3))}
    results: dict[str, Any] = {}
    start = threading.Barrier(2)

    def deliver(webhook_id: str) -> None:
        start.wait()
        results[webhook_id] = bridge.post(bodies[webhook_id], webhook_id=webhook_id)

    threads = [threading.Thread(target=deliver, args=(w,)) for w in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = bridge.state(LICENCE)
    assert state is not None and (state["status"], state["version"]) == ("cancelled", 3)
    # Whichever came second saw the other's commit: review after cancel is stale (202,
    # not applied); cancel after review is a legal, newer transition.
    assert results["r2"].status_code == 202 and json.loads(results["r2"].body)["applied"]
    assert results["r1"].status_code == 202
    assert len(bridge.history(LICENCE)) == 3


def test_a_crash_between_commit_and_send_loses_no_sync(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The queue send fails after the transaction committed (a queue that does not exist).
    real_queue = bridge.outputs["SyncQueueUrl"]
    monkeypatch.setenv("SYNC_QUEUE_URL", real_queue.rsplit("/", 1)[0] + "/no-such-queue")
    wiring.reset()
    response = bridge.post(encode(event("applied", 1)), webhook_id="msg_crash")
    # Recorded durably, so acknowledged: the sweeper owns the send from here.
    assert response.status_code == 202 and json.loads(response.body)["sync"] == "queued"
    state = bridge.state(LICENCE)
    assert state is not None and state["outbox_pk"] == "OUTBOX" and state["outbox_at"]
    assert bridge.messages() == []

    monkeypatch.setenv("SYNC_QUEUE_URL", real_queue)
    wiring.reset()
    now = datetime.now(UTC)
    # Within the grace minute the request might still be about to send: left alone.
    assert outbox.sweep_from_wiring(now=now).found == 0
    report = outbox.sweep_from_wiring(now=now + timedelta(minutes=2))
    assert (report.found, report.sent, report.failed) == (1, 1, 0)
    assert bridge.messages() == [{"licence_id": LICENCE, "version": 1}]
    state = bridge.state(LICENCE)
    assert state is not None and "outbox_at" not in state
    assert outbox.sweep_from_wiring(now=now + timedelta(minutes=3)).found == 0


def test_the_sweeper_runs_as_the_scheduled_lambda(
    bridge: Bridge, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_queue = bridge.outputs["SyncQueueUrl"]
    monkeypatch.setenv("SYNC_QUEUE_URL", real_queue + "-missing")
    wiring.reset()
    assert bridge.post(encode(event("applied", 1)), webhook_id="msg_s").status_code == 202
    monkeypatch.setenv("SYNC_QUEUE_URL", real_queue)
    wiring.reset()
    # Age the marker as a minute passing would.
    old = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    wiring.client("dynamodb").update_item(
        TableName=bridge.outputs["LicencesTable"],
        Key={"pk": {"S": f"LIC#{LICENCE}"}, "sk": {"S": "STATE"}},
        UpdateExpression="SET outbox_at = :old",
        ExpressionAttributeValues={":old": {"S": old}},
    )
    import app

    event_payload = bridge.client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]
    )
    bridge.client.lambda_.invoke("outbox_sweeper", event_payload)
    assert bridge.messages() == [{"licence_id": LICENCE, "version": 1}]
    assert app.outbox_sweeper is not None
