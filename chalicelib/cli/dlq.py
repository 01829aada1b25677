"""`dlq list` / `dlq redrive`: the sync messages parked in the dead-letter queue.

Works against the local stack (AWS_ENDPOINT_URL or --endpoint-url pointing at moto server)
and against a deployed stage with the normal AWS credential chain. The queues are found by
`--stage` (the names infra/stack.yaml gives them), by explicit URLs, or from SYNC_DLQ_URL and
SYNC_QUEUE_URL (the stage environment).

- `list` shows each parked message (licence id, version, receive count, when it was first
  sent) without consuming it: messages are made visible again straight away.
- `redrive` moves messages back to the sync queue (same body and attributes, then deleted
  from the DLQ), for after the cause is fixed. `--dry-run` shows what would move.

No region, no credentials or an unreachable endpoint is reported in one line (exit code 2).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

SYSTEM_ATTRIBUTES = ["ApproximateReceiveCount", "SentTimestamp", "ApproximateFirstReceiveTimestamp"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("dlq", help="list or redrive the sync dead-letter queue")
    actions = parser.add_subparsers(dest="action", required=True)
    for name, handler, text in (
        ("list", _list, "show parked sync messages without consuming them"),
        ("redrive", _redrive, "move parked messages back to the sync queue"),
    ):
        sub = actions.add_parser(
            name,
            help=text,
            description=__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.add_argument("--stage", help="find the queues by the stack's names for this stage")
        sub.add_argument("--dlq-url", help="dead-letter queue URL (default: $SYNC_DLQ_URL)")
        sub.add_argument("--queue-url", help="sync queue URL (default: $SYNC_QUEUE_URL)")
        sub.add_argument("--endpoint-url", help="AWS endpoint (default: $AWS_ENDPOINT_URL)")
        sub.add_argument("--region", help="AWS region (default: the credential chain's)")
        sub.add_argument("--max", type=int, default=1000, help="at most this many messages")
        sub.add_argument("--json", action="store_true", help="JSON lines instead of a table")
        if name == "redrive":
            sub.add_argument("--dry-run", action="store_true", help="list what would move")
        sub.set_defaults(handler=_aws_errors(f"dlq {name}", handler))


def _aws_errors(
    command: str, handler: Callable[[argparse.Namespace], int]
) -> Callable[[argparse.Namespace], int]:
    """The command, with AWS setup problems said in one line (exit 2) instead of a traceback."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from botocore.exceptions import (
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
            NoRegionError,
        )

        try:
            return handler(args)
        except NoRegionError:
            problem = "no AWS region: set AWS_DEFAULT_REGION (or AWS_REGION), or pass --region"
        except NoCredentialsError:
            problem = (
                "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or "
                "AWS_PROFILE (for the local stack: the exports `make up` prints)"
            )
        except EndpointConnectionError as error:
            problem = (
                f"cannot reach AWS at {error.kwargs.get('endpoint_url', '?')}: is the local "
                "stack up, and AWS_ENDPOINT_URL (or --endpoint-url) right?"
            )
        except ClientError as error:
            detail = error.response.get("Error", {})
            problem = f"AWS said {detail.get('Code', '?')}: {detail.get('Message', '')}".strip()
        print(f"{command}: {problem}", file=sys.stderr)
        return 2

    return run


def _client(args: argparse.Namespace) -> Any:
    import boto3

    kwargs: dict[str, Any] = {}
    if args.endpoint_url:
        kwargs["endpoint_url"] = args.endpoint_url
    if args.region:
        kwargs["region_name"] = args.region
    return boto3.client("sqs", **kwargs)


def queue_urls(args: argparse.Namespace, sqs: Any) -> tuple[str, str]:
    """(dead-letter queue URL, sync queue URL) from the arguments, stage or environment."""
    from chalicelib.config import Settings

    settings = Settings.from_env()
    dlq, queue = args.dlq_url or "", args.queue_url or ""
    if args.stage:
        dlq = (
            dlq or sqs.get_queue_url(QueueName=f"licence-bridge-{args.stage}-sync-dlq")["QueueUrl"]
        )
        queue = (
            queue or sqs.get_queue_url(QueueName=f"licence-bridge-{args.stage}-sync")["QueueUrl"]
        )
    return str(dlq or settings.sync_dlq_url), str(queue or settings.sync_queue_url)


def _receive(sqs: Any, url: str, count: int, visibility: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(10, count)),
        WaitTimeSeconds=1,
        VisibilityTimeout=visibility,
        AttributeNames=SYSTEM_ATTRIBUTES,
        MessageAttributeNames=["All"],
    )
    messages: list[dict[str, Any]] = response.get("Messages", [])
    return messages


def peek(sqs: Any, dlq_url: str, limit: int = 1000) -> list[dict[str, Any]]:
    """Up to `limit` parked messages, left in the queue (visible again when this returns)."""
    seen: dict[str, dict[str, Any]] = {}
    handles: list[str] = []
    try:
        while len(seen) < limit:
            batch = _receive(sqs, dlq_url, limit - len(seen), visibility=30)
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen[message["MessageId"]] = message
                handles.append(message["ReceiptHandle"])
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                sqs.change_message_visibility(
                    QueueUrl=dlq_url, ReceiptHandle=handle, VisibilityTimeout=0
                )
    return list(seen.values())


def redrive(sqs: Any, dlq_url: str, queue_url: str, limit: int = 1000) -> int:
    """Move up to `limit` messages from the DLQ to the sync queue; returns how many moved.

    Each message is sent before it is deleted, so a crash in between duplicates it (the sync
    worker is idempotent) rather than losing it.
    """
    moved = 0
    while moved < limit:
        batch = _receive(sqs, dlq_url, limit - moved, visibility=60)
        if not batch:
            break
        for message in batch:
            entry: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                entry["MessageAttributes"] = message["MessageAttributes"]
            sqs.send_message(**entry)
            sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved


def describe(message: dict[str, Any]) -> dict[str, Any]:
    try:
        body = json.loads(message["Body"])
    except ValueError:
        body = {}
    attributes = message.get("Attributes", {})
    sent = attributes.get("SentTimestamp")
    attrs = {
        name: value.get("StringValue")
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "message_id": message["MessageId"],
        "licence_id": body.get("licence_id") if isinstance(body, dict) else None,
        "version": body.get("version") if isinstance(body, dict) else None,
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
        "first_sent": (
            datetime.fromtimestamp(int(sent) / 1000, UTC).isoformat(timespec="seconds")
            if sent
            else None
        ),
        "attributes": attrs,
        "body": message["Body"] if not isinstance(body, dict) or not body else None,
    }


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    if not rows:
        print("the dead-letter queue is empty")
        return
    print(f"{'licence':<20} {'version':>7} {'receives':>8}  first sent")
    for row in rows:
        print(
            f"{row['licence_id'] or '?':<20} {row['version'] or '?':>7} "
            f"{row['receive_count']:>8}  {row['first_sent'] or '?'}"
        )
        for name, value in sorted(row["attributes"].items()):
            print(f"{'':<20} {name}: {value}")


def _list(args: argparse.Namespace) -> int:
    sqs = _client(args)
    dlq_url, _ = queue_urls(args, sqs)
    if not dlq_url:
        print("dlq: no queue: give --stage, --dlq-url or set SYNC_DLQ_URL", file=sys.stderr)
        return 2
    _print([describe(m) for m in peek(sqs, dlq_url, args.max)], args.json)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    sqs = _client(args)
    dlq_url, queue_url = queue_urls(args, sqs)
    if not dlq_url or not queue_url:
        print(
            "dlq: give --stage, or --dlq-url and --queue-url (or SYNC_DLQ_URL, SYNC_QUEUE_URL)",
            file=sys.stderr,
        )
        return 2
    if args.dry_run:
        rows = [describe(m) for m in peek(sqs, dlq_url, args.max)]
        _print(rows, args.json)
        print(f"would move {len(rows)} message(s) to {queue_url}", file=sys.stderr)
        return 0
    moved = redrive(sqs, dlq_url, queue_url, args.max)
    print(f"moved {moved} message(s) back to {queue_url}", file=sys.stderr)
    return 0
