"""What Lambda's SQS event source mapping and EventBridge do, for the local stack.

- Receives real SQS batches (up to 10, long poll) from the queue in moto server and calls the
  sync worker's handler (`app.sync_worker`, the function registered with
  `@app.lambda_function(name="sync_worker")`) with an SQS-shaped event and a context whose
  `get_remaining_time_in_millis` counts down the function's timeout from .chalice/config.json.
- ReportBatchItemFailures semantics: deletes the records that succeeded and leaves the ones in
  `batchItemFailures` on the queue untouched, so they come back when their visibility timeout
  (the one the worker set, or the queue's) ends; after maxReceiveCount receives moto's redrive
  moves them to the dead-letter queue. An invalid response or an exception fails the batch.
- Runs the functions registered with `@app.schedule` on a timer (`--schedule-interval`).

Run: `python -m infra.local.poller --queue-url URL [--schedule-interval S] [--stats FILE]`
with the same environment as the API (AWS_ENDPOINT_URL, stage variables, PORTAL_URL).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = "123456789012"
log = logging.getLogger("poller")


class LambdaContext:
    """The parts of Lambda's context object our handlers read."""

    def __init__(self, function_name: str, timeout_seconds: float, memory_mb: int = 512) -> None:
        region = os.environ.get("AWS_REGION", "us-east-1")
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{function_name}"
        self.memory_limit_in_mb = memory_mb
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = f"local/{os.getpid()}"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def function_settings(name: str) -> tuple[str, float, int]:
    """(deployed function name, timeout s, memory MB) from .chalice/config.json."""
    config = json.loads((ROOT / ".chalice" / "config.json").read_text(encoding="utf-8"))
    own = config.get("lambda_functions", {}).get(name, {})
    timeout = float(own.get("lambda_timeout", config.get("lambda_timeout", 60)))
    memory = int(own.get("lambda_memory_size", config.get("lambda_memory_size", 512)))
    stage = os.environ.get("STAGE", "local")
    return f"{config.get('app_name', 'app')}-{stage}-{name}", timeout, memory


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    """An SQS event exactly as Lambda's event source mapping shapes it."""
    region = queue_arn.split(":")[3] if queue_arn.count(":") >= 5 else "us-east-1"
    records = []
    for message in messages:
        attributes = {
            k: v
            for k, v in message.get("Attributes", {}).items()
            if k
            in {
                "ApproximateReceiveCount",
                "SentTimestamp",
                "SenderId",
                "ApproximateFirstReceiveTimestamp",
                "MessageGroupId",
                "MessageDeduplicationId",
                "SequenceNumber",
                "AWSTraceHeader",
            }
        }
        message_attributes = {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": value.get("StringListValues", []),
                "binaryListValues": value.get("BinaryListValues", []),
                "dataType": value.get("DataType"),
            }
            for name, value in message.get("MessageAttributes", {}).items()
        }
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": message_attributes,
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def failed_ids(response: Any, message_ids: set[str]) -> set[str] | None:
    """The records to leave on the queue; None when the response fails the whole batch."""
    if response is None:
        return set()
    if not isinstance(response, dict):
        return None
    failures = response.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    ids: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in message_ids:
            return None  # Lambda treats an unknown or empty identifier as a failed batch
        ids.add(identifier)
    return ids


@dataclass
class Stats:
    batches: int = 0
    records: int = 0
    succeeded: int = 0
    failed: int = 0
    redelivered: int = 0
    crashed_batches: int = 0
    overran_batches: int = 0
    schedule_runs: dict[str, int] = field(default_factory=dict)
    schedule_errors: dict[str, int] = field(default_factory=dict)
    handler_seconds: float = 0.0
    max_receive_count: int = 0
    updated_at: str = ""


class Poller:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        handler: Callable[[dict[str, Any], Any], Any],
        *,
        function: str = "sync_worker",
        crash_visibility: int = 30,
        wait_seconds: int = 2,
        stats_path: Path | None = None,
    ) -> None:
        self.sqs, self.queue_url, self.handler = sqs, queue_url, handler
        self.function_name, self.timeout, self.memory = function_settings(function)
        self.crash_visibility = crash_visibility
        self.wait_seconds = wait_seconds
        self.stats = Stats()
        self.stats_path = stats_path
        self._lock = threading.Lock()
        attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        self.queue_arn = attrs["Attributes"]["QueueArn"]

    def poll_once(self) -> int:
        """One receive and one invocation; returns the number of records delivered."""
        received = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages", [])
        if not messages:
            return 0
        self.invoke(messages)
        return len(messages)

    def invoke(self, messages: list[dict[str, Any]]) -> None:
        event = sqs_event(messages, self.queue_arn)
        ids = {m["MessageId"] for m in messages}
        context = LambdaContext(self.function_name, self.timeout, self.memory)
        started = time.monotonic()
        try:
            response = self.handler(event, context)
            failed = failed_ids(response, ids)
            if failed is None:
                log.error("invalid batch response %r: the whole batch fails", response)
        except Exception:
            log.error("sync worker raised: the whole batch fails\n%s", traceback.format_exc())
            response, failed = None, None
        elapsed = time.monotonic() - started
        crashed = failed is None
        to_delete = [] if failed is None else [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(to_delete), 10):
            chunk = to_delete[start : start + 10]
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )
        if crashed:
            # Lambda would let the batch reappear after the queue's visibility timeout (6x the
            # function timeout). Locally we shorten that wait so a crash does not stall a run.
            for message in messages:
                with contextlib.suppress(Exception):
                    self.sqs.change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=message["ReceiptHandle"],
                        VisibilityTimeout=self.crash_visibility,
                    )
        receive_counts = [
            int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")) for m in messages
        ]
        with self._lock:
            s = self.stats
            s.batches += 1
            s.records += len(messages)
            s.succeeded += len(to_delete)
            s.failed += len(messages) - len(to_delete)
            s.redelivered += sum(1 for c in receive_counts if c > 1)
            s.max_receive_count = max(s.max_receive_count, *receive_counts)
            s.crashed_batches += int(crashed)
            s.overran_batches += int(elapsed > self.timeout)
            s.handler_seconds += elapsed
        if elapsed > self.timeout:
            log.warning("batch took %.1f s, over the %.0f s Lambda timeout", elapsed, self.timeout)
        self.write_stats()

    def record_schedule(self, name: str, ok: bool) -> None:
        with self._lock:
            runs = self.stats.schedule_runs
            runs[name] = runs.get(name, 0) + 1
            if not ok:
                errors = self.stats.schedule_errors
                errors[name] = errors.get(name, 0) + 1
        self.write_stats()

    def write_stats(self) -> None:
        if self.stats_path is None:
            return
        with self._lock:
            self.stats.updated_at = datetime.now(UTC).isoformat()
            data = json.dumps(asdict(self.stats), indent=1)
        tmp = self.stats_path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(data, encoding="utf-8")
        tmp.replace(self.stats_path)


def load_app() -> Any:
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    return importlib.import_module("app")


def find_function(module: Any, name: str) -> Callable[[dict[str, Any], Any], Any]:
    """The `@app.lambda_function(name=...)` handler in app.py, as Lambda would call it."""
    for function in getattr(module.app, "pure_lambda_functions", []):
        if function.name == name:
            handler: Callable[[dict[str, Any], Any], Any] = getattr(
                module, function.handler_string.rsplit(".", 1)[-1]
            )
            return handler
    raise LookupError(f"app.py registers no @app.lambda_function(name={name!r})")


def schedules(module: Any) -> list[tuple[str, str, Callable[[dict[str, Any], Any], Any]]]:
    """(name, expression, handler) of every `@app.schedule` in app.py."""
    from chalice.app import ScheduledEventConfig

    found = []
    for source in getattr(module.app, "event_sources", []):
        if isinstance(source, ScheduledEventConfig):
            attribute = source.handler_string.rsplit(".", 1)[-1]
            found.append((source.name, str(source.schedule_expression), getattr(module, attribute)))
    return found


def scheduled_event(name: str) -> dict[str, Any]:
    region = os.environ.get("AWS_REGION", "us-east-1")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:{ACCOUNT}:rule/{name}"],
        "detail": {},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.poller",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--queue-url", required=True)
    parser.add_argument("--function", default="sync_worker")
    parser.add_argument(
        "--schedule-interval",
        type=float,
        default=0.0,
        help="run every @app.schedule job this often (seconds); 0: do not run them",
    )
    parser.add_argument("--stats", type=Path, default=None, help="write counters here (JSON)")
    parser.add_argument("--wait-seconds", type=int, default=2, help="SQS long-poll wait")
    parser.add_argument("--crash-visibility", type=int, default=30)
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stdout, level=logging.INFO, format="%(asctime)s %(name)s %(message)s"
    )

    import boto3

    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    module = load_app()
    handler = find_function(module, args.function)
    poller = Poller(
        boto3.client("sqs"),
        args.queue_url,
        handler,
        function=args.function,
        crash_visibility=args.crash_visibility,
        wait_seconds=args.wait_seconds,
        stats_path=args.stats,
    )
    poller.write_stats()
    jobs = schedules(module) if args.schedule_interval > 0 else []
    if jobs:
        thread = threading.Thread(
            target=_run_schedules,
            args=(jobs, args.schedule_interval, poller, stopping),
            name="schedules",
            daemon=True,
        )
        thread.start()
    log.info(
        "polling %s for %s; schedules: %s",
        args.queue_url,
        args.function,
        ", ".join(f"{n} ({e})" for n, e, _ in jobs) or "none",
    )
    poll_until_stopped(poller, stopping)
    log.info("stopped")
    return 0


def poll_until_stopped(poller: Poller, stopping: threading.Event, pause: float = 1.0) -> None:
    """Poll until `stopping` is set. A failure once it is set is the shutdown racing a long
    poll (the stack stops its processes one after another): a quiet exit, no traceback."""
    while not stopping.is_set():
        try:
            poller.poll_once()
        except Exception as error:
            if stopping.is_set():
                log.info("stopping (%s in the last receive)", type(error).__name__)
                return
            log.error("receive failed\n%s", traceback.format_exc())
            stopping.wait(pause)


def _run_schedules(
    jobs: list[tuple[str, str, Callable[[dict[str, Any], Any], Any]]],
    interval: float,
    poller: Poller,
    stopping: threading.Event,
) -> None:
    while not stopping.wait(interval):
        for name, _expression, handler in jobs:
            _, timeout, memory = function_settings(name)
            context = LambdaContext(f"{poller.function_name.rsplit('-', 1)[0]}-{name}", timeout)
            context.memory_limit_in_mb = memory
            ok = True
            try:
                handler(scheduled_event(name), context)
            except Exception as error:
                if stopping.is_set():
                    log.info("stopping (%s in scheduled job %s)", type(error).__name__, name)
                    return
                ok = False
                log.error("scheduled job %s raised\n%s", name, traceback.format_exc())
            poller.record_schedule(name, ok)


if __name__ == "__main__":
    sys.exit(main())
