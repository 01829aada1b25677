"""Helpers for the portal and sync tests: canonical licences, state items, SQS events."""

from __future__ import annotations

import copy
import json
import time
from functools import cache
from pathlib import Path
from typing import Any

from chalicelib import store
from chalicelib.licence_types import LICENCE_TYPES

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TYPES = [t.code for t in LICENCE_TYPES]
USERNAME = "licence-bridge"
PASSWORD = "simulator-password-for-tests"


@cache
def _canonical(code: str) -> dict[str, Any]:
    from chalicelib.validation import validate_event

    path = sorted((EXAMPLES / code).glob("valid-*.json"))[0]
    result = validate_event(json.loads(path.read_text(encoding="utf-8")))
    assert result.ok, result.issues
    return dict(result.document["licence"])


def canonical(code: str, **changes: Any) -> dict[str, Any]:
    """The canonical record of the first valid example of `code` (via validate_event)."""
    licence = copy.deepcopy(_canonical(code))
    licence.update(changes)
    return licence


class Context:
    """A Lambda context with a real deadline."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


def seed_state(client: Any, table: str, licence: dict[str, Any], **extra: Any) -> None:
    """Write the state item as docs/DESIGN.md documents it (the ingest's shape)."""
    item = {
        "pk": store.licence_pk(licence["licence_id"]),
        "sk": store.STATE_SK,
        store.LICENCE_ATTRIBUTE: store.licence_text(licence),
        "version": licence["version"],
        "status": licence["status"],
        "licence_type": licence["licence_type"],
        "district": str(licence["issuing"]["district"]),
        "tracking_code": licence["tracking_code"],
        "updated_at": "2025-03-20T10:15:00+03:30",
        "sync_status": "queued",
        **extra,
    }
    client.put_item(TableName=table, Item=store.to_item(item))


def read_state(client: Any, table: str, licence_id: str) -> dict[str, Any]:
    state = store.get_state(client, table, licence_id)
    assert state is not None
    return state


def send(sqs: Any, queue_url: str, licence: dict[str, Any]) -> str:
    body = json.dumps({"licence_id": licence["licence_id"], "version": licence["version"]})
    sqs.send_message(QueueUrl=queue_url, MessageBody=body)
    return body


def receive_event(sqs: Any, queue_url: str, arn: str, wait: int = 0) -> dict[str, Any]:
    """Receive like Lambda's SQS poller and shape the records as the Lambda event."""
    messages = sqs.receive_message(
        QueueUrl=queue_url,
        MaxNumberOfMessages=10,
        AttributeNames=["All"],
        WaitTimeSeconds=wait,
    ).get("Messages", [])
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def settle(sqs: Any, queue_url: str, event: dict[str, Any], answer: dict[str, Any]) -> None:
    """What the event source mapping does with ReportBatchItemFailures: delete the rest."""
    failed = {f["itemIdentifier"] for f in answer["batchItemFailures"]}
    for record in event["Records"]:
        if record["messageId"] not in failed:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=record["receiptHandle"])
