"""The sync worker: SQS batch -> the national licence portal, reporting partial failures.

For each record {"licence_id", "version"} the worker reads the licence's CURRENT state and
brings the portal up to it (the message's version only says "something changed"), so
duplicates and out-of-order deliveries converge on the same portal state. Outcomes:

- success: portal id, synced_version, sync_status=synced recorded; the message is deleted.
- permanent (PortalRejectedError): sync_status=rejected with the portal's (Persian)
  reasons, a PortalRejections metric; the message is deleted (retrying cannot help).
- transient (PortalUnavailableError) after in-process retries: the message is reported in
  batchItemFailures so SQS redelivers it after a visibility timeout that grows with its
  receive count; sync_status=retrying, or dead_lettered on the queue's last allowed
  receive (SQS then moves the unchanged message to the dead-letter queue).

The SQS event source mapping must have FunctionResponseTypes [ReportBatchItemFailures]
(infra/app-extras.yaml); without it a returned failure list is ignored.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib import logs, store, wiring
from chalicelib.portal import mapping
from chalicelib.portal.errors import (
    PortalDuplicateError,
    PortalError,
    PortalRejectedError,
    PortalUnavailableError,
    Receipt,
)
from chalicelib.sync import state as sync_state
from chalicelib.sync.retry import RetryPolicy, portal_retrying

log = logs.get_logger("sync")

REJECTION_METRIC = "PortalRejections"


class LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Portal(Protocol):
    """What the worker needs of chalicelib.portal.client.PortalClient."""

    def register(
        self, record: Mapping[str, Any], request_id: str, *, time_left: float | None = None
    ) -> Receipt: ...

    def update(
        self,
        portal_licence_id: int,
        record: Mapping[str, Any],
        request_id: str,
        *,
        time_left: float | None = None,
    ) -> Receipt: ...

    def change_status(
        self,
        portal_licence_id: int,
        *,
        version: int,
        action: str,
        effective_at: datetime,
        request_id: str,
        validity: Mapping[str, Any] | None = None,
        reason: str | None = None,
        time_left: float | None = None,
    ) -> Receipt: ...


@dataclass(frozen=True)
class WorkerOptions:
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Redelivery delay = base * 2**(receive_count - 1), capped: 30 s, 1, 2, 4 min...
    visibility_base_s: int = 30
    visibility_max_s: int = 900
    # Kept back from the Lambda's time for the state writes after the last portal call.
    reserve_s: float = 2.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class Outcome:
    licence_id: str
    result: str  # synced | up_to_date | rejected | retrying | dead_lettered | missing
    operation: str | None = None
    error: str | None = None
    version: int = 0


@dataclass
class _Deps:
    portal: Portal
    dynamodb: Any
    sqs: Any
    table: str
    queue_url: str
    options: WorkerOptions


def handle_batch(
    event: Mapping[str, Any],
    context: LambdaContext,
    *,
    portal: Portal | None = None,
    options: WorkerOptions | None = None,
) -> dict[str, list[dict[str, str]]]:
    """The Lambda handler body: sync every record, return the ones SQS must redeliver."""
    records = list(event.get("Records") or [])
    deps = _deps(portal, options, records)
    failures: list[dict[str, str]] = []
    for index, record in enumerate(records):
        # Share what is left fairly: one stubborn licence must not starve the rest.
        left_in_batch = len(records) - index
        started = _seconds_left(context)
        budget_end = time.monotonic() + max(0.0, started - deps.options.reserve_s) / left_in_batch

        def time_left(budget_end: float = budget_end) -> float:
            return min(
                budget_end - time.monotonic(), _seconds_left(context) - deps.options.reserve_s
            )

        outcome = _process(record, deps, time_left)
        if outcome.result in ("retrying", "dead_lettered", "missing"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def sync_licence(
    licence_id: str,
    *,
    portal: Portal,
    time_left: Callable[[], float],
    options: WorkerOptions | None = None,
) -> Outcome:
    """One licence, outside SQS (the bench, the reconcile job): state -> portal -> state."""
    deps = _deps(portal, options, [])
    return _sync(licence_id, deps, time_left)


# --- one record ------------------------------------------------------------------------


def _process(record: Mapping[str, Any], deps: _Deps, time_left: Callable[[], float]) -> Outcome:
    try:
        body = json.loads(record["body"])
        licence_id = str(body["licence_id"])
    except (KeyError, TypeError, ValueError):
        # Not ours to fix: leave it for redrive so the dead-letter queue keeps the body.
        log.error("sync message without a licence id", extra={"outcome": "malformed"})
        return Outcome("", "missing", error="malformed message")
    outcome = _sync(licence_id, deps, time_left)
    if outcome.result == "retrying":
        receives = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
        last = receives >= _max_receive_count(deps.sqs, deps.queue_url)
        current = outcome.error or "transient"
        status = "dead_lettered" if last else "retrying"
        sync_state.record_failure(
            deps.dynamodb,
            deps.table,
            licence_id=licence_id,
            version=outcome.version,
            sync_status=status,
            error=current,
        )
        delay = 0 if last else _visibility_delay(receives, deps.options)
        _set_visibility(deps, record, delay)
        log.warning(
            "portal sync will be retried" if not last else "portal sync dead-lettered",
            extra={
                "licence_id": licence_id,
                "version": outcome.version,
                "outcome": status,
                "error": current,
                "count": receives,
            },
        )
        return Outcome(licence_id, status, outcome.operation, current)
    return outcome


def _sync(licence_id: str, deps: _Deps, time_left: Callable[[], float]) -> Outcome:
    current = store.get_state(deps.dynamodb, deps.table, licence_id)
    if current is None:
        log.error("sync message for an unknown licence", extra={"licence_id": licence_id})
        return Outcome(licence_id, "missing", error="no state item")
    version = int(current["version"])
    if int(current.get("synced_version") or 0) >= version:
        return Outcome(licence_id, "up_to_date")
    request_id = f"{licence_id}:{version}"
    operation: str | None = None
    try:
        record = mapping.to_portal_record(current["licence"])
        if int(record["version"]) != version:
            raise PortalRejectedError("Mapping", "licence version differs from the state item")
        plan = _plan(current, record)
        operation = plan[0]
        retrying = portal_retrying(deps.options.retry, time_left, sleep=deps.options.sleep)
        receipt = retrying(
            _call,
            deps.portal,
            plan,
            record=record,
            request_id=request_id,
            current=current,
            time_left=time_left,
        )
    except PortalRejectedError as error:
        _rejected(deps, licence_id, version, current, error)
        return Outcome(licence_id, "rejected", operation, error.code)
    except PortalUnavailableError as error:
        detail = f"{error.code}: {error.detail}" if error.detail else error.code
        return Outcome(licence_id, "retrying", operation, detail[:300], version)
    snapshot = {
        "data_digest": mapping.data_digest(record),
        "status": record["status"],
        "validity": mapping.validity_key(record),
    }
    sync_state.record_synced(
        deps.dynamodb,
        deps.table,
        licence_id=licence_id,
        version=version,
        portal_licence_id=receipt.portal_licence_id,
        snapshot=snapshot,
        synced_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    log.info(
        "licence synced to the portal",
        extra={"licence_id": licence_id, "version": version, "outcome": receipt.operation},
    )
    return Outcome(licence_id, "synced", receipt.operation)


def _plan(current: Mapping[str, Any], record: Mapping[str, Any]) -> tuple[str, str | None]:
    """(operation, status action): register, update, or change_status when only the
    status (or, for a renewal, the validity) differs from what the portal holds."""
    portal_id = current.get("portal_licence_id")
    if portal_id is None:
        return "register", None
    snapshot = current.get("portal_snapshot") or {}
    if snapshot.get("data_digest") != mapping.data_digest(record):
        return "update", None
    action = mapping.status_action(snapshot.get("status"), str(record["status"]))
    same_validity = snapshot.get("validity") == mapping.validity_key(record)
    if action is None or (action == "renew" and same_validity):
        return "update", None
    return "change_status", action


def _call(
    portal: Portal,
    plan: tuple[str, str | None],
    *,
    record: Mapping[str, Any],
    request_id: str,
    current: Mapping[str, Any],
    time_left: Callable[[], float],
) -> Receipt:
    operation, action = plan
    if operation == "register":
        try:
            return portal.register(record, request_id, time_left=time_left())
        except PortalDuplicateError as duplicate:
            if duplicate.existing_portal_licence_id is None:
                raise
            # Registered before, but we never learnt the id (a lost reply): adopt it and
            # bring its record up to date under a request id of its own.
            return portal.update(
                duplicate.existing_portal_licence_id,
                record,
                f"{request_id}:adopt",
                time_left=time_left(),
            )
    portal_id = int(current["portal_licence_id"])
    if operation == "update":
        return portal.update(portal_id, record, request_id, time_left=time_left())
    assert action is not None  # noqa: S101 - _plan pairs change_status with an action
    return portal.change_status(
        portal_id,
        version=int(record["version"]),
        action=action,
        effective_at=_effective_at(current),
        request_id=request_id,
        validity=record.get("validity") if action == "renew" else None,
        time_left=time_left(),
    )


def _effective_at(current: Mapping[str, Any]) -> datetime:
    text = current.get("updated_at")
    if isinstance(text, str):
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            when = None
        if when is not None and when.tzinfo is not None:
            return when
    return datetime.now(UTC)


def _rejected(
    deps: _Deps, licence_id: str, version: int, current: Mapping[str, Any], error: PortalError
) -> None:
    reasons = [r.as_dict() for r in getattr(error, "reasons", ())]
    sync_state.record_failure(
        deps.dynamodb,
        deps.table,
        licence_id=licence_id,
        version=version,
        sync_status="rejected",
        error=f"{error.code}: {error.detail}",
        reasons=reasons,
    )
    logs.metric(REJECTION_METRIC)
    log.warning(
        "the portal rejected the licence",
        extra={
            "licence_id": licence_id,
            "version": version,
            "outcome": "rejected",
            "error": error.code,
            "count": len(reasons),
        },
    )


# --- SQS -------------------------------------------------------------------------------


def _visibility_delay(receives: int, options: WorkerOptions) -> int:
    return int(min(options.visibility_max_s, options.visibility_base_s * 2 ** max(0, receives - 1)))


def _set_visibility(deps: _Deps, record: Mapping[str, Any], seconds: int) -> None:
    try:
        deps.sqs.change_message_visibility(
            QueueUrl=deps.queue_url,
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=seconds,
        )
    except Exception as error:  # the queue's own timeout applies instead: still redelivered
        log.warning("could not change message visibility", extra={"error": type(error).__name__})


_RECEIVES: dict[str, int] = {}


def reset() -> None:
    """Forget the cached redrive policy (tests provision a fresh queue each time)."""
    _RECEIVES.clear()


def _max_receive_count(sqs: Any, queue_url: str) -> int:
    """The queue's RedrivePolicy maxReceiveCount, read once per container."""
    if queue_url not in _RECEIVES:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["RedrivePolicy"]
        ).get("Attributes", {})
        policy = json.loads(attributes.get("RedrivePolicy") or "{}")
        _RECEIVES[queue_url] = int(policy.get("maxReceiveCount") or 0) or 10**6
    return _RECEIVES[queue_url]


def _queue_url(records: list[Mapping[str, Any]]) -> str:
    configured = wiring.settings().sync_queue_url
    if configured or not records:
        return configured
    # arn:aws:sqs:<region>:<account>:<name> -> the queue's URL, for a stage without config.
    arn = str(records[0].get("eventSourceARN", ""))
    parts = arn.split(":")
    if len(parts) == 6:
        answer = wiring.client("sqs").get_queue_url(
            QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
        )
        return str(answer["QueueUrl"])
    return ""


def _deps(
    portal: Portal | None, options: WorkerOptions | None, records: list[Mapping[str, Any]]
) -> _Deps:
    if portal is None:
        from chalicelib.portal.client import portal_client

        portal = portal_client()
    return _Deps(
        portal=portal,
        dynamodb=wiring.client("dynamodb"),
        sqs=wiring.client("sqs"),
        table=wiring.settings().licences_table,
        queue_url=_queue_url(records),
        options=options or WorkerOptions(),
    )


def _seconds_left(context: LambdaContext) -> float:
    return context.get_remaining_time_in_millis() / 1000.0
