"""The sync worker with moto (our real stack) and the simulator over real HTTP."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from chalicelib.portal.client import PortalClient
from chalicelib.sync import worker
from chalicelib.sync.retry import RetryPolicy
from chalicelib.sync.worker import WorkerOptions, handle_batch, sync_licence
from infra.local.portal_simulator import SimulatorHandle
from tests.portal.support import (
    PASSWORD,
    USERNAME,
    Context,
    canonical,
    read_state,
    receive_event,
    seed_state,
    send,
    settle,
)

SLEEPS: list[float] = []
OPTIONS = WorkerOptions(
    retry=RetryPolicy(
        max_attempts=3, initial_wait_s=0.01, max_wait_s=0.02, jitter_s=0.0, attempt_floor_s=0.2
    ),
    visibility_base_s=0,  # redeliver at once: the test plays the SQS poller
    reserve_s=0.1,
    sleep=SLEEPS.append,
)


@pytest.fixture
def stack(aws: dict[str, str], sim: SimulatorHandle) -> Iterator[dict[str, Any]]:
    session = boto3.session.Session()
    session.client("secretsmanager").put_secret_value(
        SecretId="licence-bridge/test/portal",
        SecretString=json.dumps({"username": USERNAME, "password": PASSWORD}),
    )
    worker.reset()
    SLEEPS.clear()
    yield {
        "dynamodb": session.client("dynamodb"),
        "sqs": session.client("sqs"),
        "table": aws["LicencesTable"],
        "queue": aws["SyncQueueUrl"],
        "arn": aws["SyncQueueArn"],
        "dlq": aws["SyncDeadLetterQueueUrl"],
        "sim": sim,
    }


@pytest.fixture
def secret_portal(stack: dict[str, Any], sim: SimulatorHandle) -> PortalClient:
    """The production credential path: Secrets Manager (moto) -> UsernameToken."""
    from chalicelib.portal.client import build_client
    from tests.portal.conftest import FAST

    return build_client(sim.url, timeouts=FAST)


def _run(
    stack: dict[str, Any], portal: PortalClient, seconds: float = 5.0
) -> tuple[dict[str, Any], dict[str, Any]]:
    event = receive_event(stack["sqs"], stack["queue"], stack["arn"])
    answer = handle_batch(event, Context(seconds), portal=portal, options=OPTIONS)
    settle(stack["sqs"], stack["queue"], event, answer)
    return event, answer


def _visible(stack: dict[str, Any], url: str) -> int:
    attributes = stack["sqs"].get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def test_registers_then_records_portal_id_and_synced_version(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    licence = canonical("FOOD_TRUCK")
    seed_state(stack["dynamodb"], stack["table"], licence)
    send(stack["sqs"], stack["queue"], licence)
    _, answer = _run(stack, secret_portal)
    assert answer == {"batchItemFailures": []}
    state = read_state(stack["dynamodb"], stack["table"], licence["licence_id"])
    held = stack["sim"].state()["licences"]
    assert [h["licence_id"] for h in held] == [licence["licence_id"]]
    assert state["portal_licence_id"] == held[0]["portal_licence_id"]
    assert (state["synced_version"], state["sync_status"]) == (licence["version"], "synced")
    assert held[0]["operations"] == [f"register:{licence['licence_id']}:{licence['version']}"]
    assert _visible(stack, stack["queue"]) == 0


def test_status_only_change_goes_as_change_status_and_data_change_as_update(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    licence = canonical("FOOD_TRUCK")
    lid, v = licence["licence_id"], licence["version"]
    seed_state(stack["dynamodb"], stack["table"], licence)
    send(stack["sqs"], stack["queue"], licence)
    _run(stack, secret_portal)
    state = read_state(stack["dynamodb"], stack["table"], lid)

    suspended = canonical("FOOD_TRUCK", status="suspended", version=v + 1)
    keep = {k: state[k] for k in ("portal_licence_id", "synced_version", "portal_snapshot")}
    seed_state(stack["dynamodb"], stack["table"], suspended, **keep)
    send(stack["sqs"], stack["queue"], suspended)
    _run(stack, secret_portal)

    state = read_state(stack["dynamodb"], stack["table"], lid)
    renamed = canonical("FOOD_TRUCK", status="suspended", version=v + 2)
    renamed["business"] = {**renamed["business"], "name": "ون‌کافه تازه"}
    keep = {k: state[k] for k in ("portal_licence_id", "synced_version", "portal_snapshot")}
    seed_state(stack["dynamodb"], stack["table"], renamed, **keep)
    send(stack["sqs"], stack["queue"], renamed)
    _run(stack, secret_portal)

    held = stack["sim"].state()["licences"][0]
    assert held["operations"] == [
        f"register:{lid}:{v}",
        f"suspend:{lid}:{v + 1}",
        f"update:{lid}:{v + 2}",
    ]
    assert (held["version"], held["status"]) == (v + 2, "suspended")
    assert read_state(stack["dynamodb"], stack["table"], lid)["synced_version"] == v + 2


def test_duplicates_and_late_messages_cause_one_registration(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    licence = canonical("CAR_WASH")
    seed_state(stack["dynamodb"], stack["table"], licence)
    for _ in range(3):
        send(stack["sqs"], stack["queue"], licence)
    _, answer = _run(stack, secret_portal)
    assert answer == {"batchItemFailures": []}
    send(stack["sqs"], stack["queue"], {**licence, "version": 1})  # an older, late message
    _run(stack, secret_portal)
    held = stack["sim"].state()
    assert len(held["licences"]) == 1
    assert held["requests"]["RegisterLicence"] == 1


def test_a_lost_reply_is_recovered_by_adopting_the_registered_id(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    licence = canonical("CNG_STATION")
    from chalicelib.portal import mapping

    earlier = secret_portal.register(mapping.to_portal_record(licence), "someone-else:1")
    seed_state(stack["dynamodb"], stack["table"], {**licence, "version": licence["version"] + 1})
    send(stack["sqs"], stack["queue"], licence)
    _run(stack, secret_portal)
    state = read_state(stack["dynamodb"], stack["table"], licence["licence_id"])
    assert state["portal_licence_id"] == earlier.portal_licence_id
    assert state["sync_status"] == "synced"
    assert len(stack["sim"].state()["licences"]) == 1


def test_only_the_failing_record_comes_back_from_a_batch(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    codes = ["FLOWER_KIOSK", "TAXI_AGENCY", "RIDE_HAILING"]
    for code in codes:
        licence = canonical(code)
        seed_state(stack["dynamodb"], stack["table"], licence)
        send(stack["sqs"], stack["queue"], licence)
    # Two answers fine, then the portal is busy for every attempt of the last one.
    stack["sim"].configure(script=["ok", "ok", "Busy", "Busy", "Busy"])
    event = receive_event(stack["sqs"], stack["queue"], stack["arn"])
    assert len(event["Records"]) == 3
    answer = handle_batch(event, Context(5), portal=secret_portal, options=OPTIONS)
    settle(stack["sqs"], stack["queue"], event, answer)
    failed = [f["itemIdentifier"] for f in answer["batchItemFailures"]]
    assert failed == [event["Records"][2]["messageId"]]
    last = json.loads(event["Records"][2]["body"])["licence_id"]
    state = read_state(stack["dynamodb"], stack["table"], last)
    assert state["sync_status"] == "retrying"
    assert state["sync_error"].startswith("Busy")
    assert "synced_version" not in state
    assert len(SLEEPS) == 2  # three attempts, two backoffs
    assert _visible(stack, stack["queue"]) == 1
    # Redelivered with the portal healthy: it goes through.
    _run(stack, secret_portal)
    assert read_state(stack["dynamodb"], stack["table"], last)["sync_status"] == "synced"


def test_a_rejection_is_recorded_with_persian_reasons_and_counted(
    stack: dict[str, Any], secret_portal: PortalClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain buffer rather than capsys: chalicelib.logs keeps a reference to sys.stdout,
    # and capsys closes its buffer after the test.
    stdout = io.StringIO()
    monkeypatch.setattr(sys, "stdout", stdout)
    licence = canonical("TAXI_DRIVER")
    licence["validity"] = {"issued_on": "2025-03-01", "valid_until": "2024-03-01"}
    seed_state(stack["dynamodb"], stack["table"], licence)
    send(stack["sqs"], stack["queue"], licence)
    _, answer = _run(stack, secret_portal)
    assert answer == {"batchItemFailures": []}  # not retried
    state = read_state(stack["dynamodb"], stack["table"], licence["licence_id"])
    assert state["sync_status"] == "rejected"
    assert state["sync_reasons"] == [
        {
            "field": "licence/validity/validUntil",
            "code": "order",
            "message": "تاریخ پایان اعتبار پیش از تاریخ صدور است.",
        }
    ]
    lines = stdout.getvalue().splitlines()
    metrics = [json.loads(line) for line in lines if '"_aws"' in line]
    assert metrics[0]["PortalRejections"] == 1
    assert metrics[0]["Stage"] == "test"
    assert metrics[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LicenceBridge"
    assert _visible(stack, stack["queue"]) == 0


def test_hostile_reply_is_permanent(stack: dict[str, Any], secret_portal: PortalClient) -> None:
    licence = canonical("RECYCLING_YARD")
    seed_state(stack["dynamodb"], stack["table"], licence)
    send(stack["sqs"], stack["queue"], licence)
    stack["sim"].configure(script=["BillionLaughs"])
    _, answer = _run(stack, secret_portal)
    assert answer == {"batchItemFailures": []}
    state = read_state(stack["dynamodb"], stack["table"], licence["licence_id"])
    assert state["sync_status"] == "rejected"
    assert state["sync_error"].startswith("HostileReply")
    assert "lol" not in state["sync_error"]


def test_a_stalled_portal_times_out_and_is_retried_later(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    licence = canonical("PUBLIC_PARKING")
    seed_state(stack["dynamodb"], stack["table"], licence)
    send(stack["sqs"], stack["queue"], licence)
    stack["sim"].configure(stall_rate=1.0)
    _, answer = _run(stack, secret_portal, seconds=1.5)
    assert len(answer["batchItemFailures"]) == 1
    state = read_state(stack["dynamodb"], stack["table"], licence["licence_id"])
    assert (state["sync_status"], state["sync_error"]) == ("retrying", "Timeout: ReadTimeout")
    stack["sim"].configure(stall_rate=0.0)
    _, answer = _run(stack, secret_portal)
    assert answer == {"batchItemFailures": []}
    assert (
        read_state(stack["dynamodb"], stack["table"], licence["licence_id"])["sync_status"]
        == "synced"
    )


def test_after_the_last_receive_the_message_reaches_the_dlq_unchanged(
    stack: dict[str, Any], secret_portal: PortalClient
) -> None:
    licence = canonical("EXCAVATION")
    seed_state(stack["dynamodb"], stack["table"], licence)
    body = send(stack["sqs"], stack["queue"], licence)
    stack["sim"].configure(down_for_s=60)
    statuses = []
    for _ in range(5):  # maxReceiveCount 5 in infra/stack.yaml
        _, answer = _run(stack, secret_portal, seconds=2)
        assert len(answer["batchItemFailures"]) == 1
        statuses.append(
            read_state(stack["dynamodb"], stack["table"], licence["licence_id"])["sync_status"]
        )
    assert statuses == ["retrying"] * 4 + ["dead_lettered"]
    # The next receive redrives it (moto, like SQS, moves it on receive).
    assert receive_event(stack["sqs"], stack["queue"], stack["arn"])["Records"] == []
    parked = stack["sqs"].receive_message(QueueUrl=stack["dlq"], MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in parked] == [body]
    state = read_state(stack["dynamodb"], stack["table"], licence["licence_id"])
    assert state["sync_error"] == "HTTP503"


def test_visibility_grows_with_the_receive_count() -> None:
    options = WorkerOptions(visibility_base_s=30, visibility_max_s=900)
    delays = [worker._visibility_delay(n, options) for n in range(1, 8)]
    assert delays == [30, 60, 120, 240, 480, 900, 900]


def test_sync_one_licence_without_sqs(stack: dict[str, Any], secret_portal: PortalClient) -> None:
    licence = canonical("TREE_FELLING")
    seed_state(stack["dynamodb"], stack["table"], licence)
    first = sync_licence(licence["licence_id"], portal=secret_portal, time_left=lambda: 5.0)
    again = sync_licence(licence["licence_id"], portal=secret_portal, time_left=lambda: 5.0)
    assert (first.result, first.operation) == ("synced", "register")
    assert again.result == "up_to_date"
