"""The transactional outbox for sync messages, and its sweeper.

The ingest transaction sets `outbox_pk="OUTBOX"`, `outbox_at=<received_at>` on the licence
state together with the new state. After the commit the handler sends the sync message and
clears the marker, conditionally on the same `outbox_at` (a newer event may have set its
own). If the process dies, or SQS fails, between the commit and the clear, the marker stays,
and the sweeper (scheduled every minute) finds it through the sparse `outbox` index and sends
again. A message can thus be sent twice, never lost; the sync worker is state-based and
idempotent, so a duplicate costs one portal read at most.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import logs, store

# Younger markers probably belong to a request still between its commit and its send.
GRACE = timedelta(minutes=1)
BATCH = 500

log = logs.get_logger("outbox")


def sync_message(licence_id: str, version: int) -> str:
    return json.dumps({"licence_id": licence_id, "version": version}, separators=(",", ":"))


def send_and_clear(
    sqs: Any,
    dynamodb: Any,
    *,
    queue_url: str,
    table: str,
    licence_id: str,
    version: int,
    outbox_at: str,
) -> bool:
    """Send the sync message, then clear the marker; False (and the marker kept) on failure."""
    try:
        sqs.send_message(QueueUrl=queue_url, MessageBody=sync_message(licence_id, version))
    except Exception as error:
        log.warning(
            "sync message not sent; the outbox sweeper will send it",
            extra={"outcome": "outbox_kept", "error": type(error).__name__},
        )
        return False
    try:
        store.clear_outbox(dynamodb, table, licence_id, outbox_at)
    except Exception as error:
        # Sent but still marked: the sweeper sends a duplicate, which the worker absorbs.
        log.warning(
            "outbox marker not cleared",
            extra={"outcome": "outbox_kept", "error": type(error).__name__},
        )
    return True


@dataclass(frozen=True)
class SweepReport:
    found: int
    sent: int
    failed: int


def sweep(
    sqs: Any,
    dynamodb: Any,
    *,
    queue_url: str,
    table: str,
    now: datetime | None = None,
    limit: int = BATCH,
) -> SweepReport:
    """Re-send the sync message of every marker older than GRACE."""
    from chalicelib.archive import received_at_text

    before = received_at_text((now or datetime.now(UTC)) - GRACE)
    found = sent = failed = 0
    for licence_id, outbox_at in list(store.outbox_due(dynamodb, table, before, limit)):
        found += 1
        # The index holds keys only; the version to announce is the state's, read now.
        state = store.get_state(dynamodb, table, licence_id)
        if state is None or state.get("outbox_at") != outbox_at:
            continue  # cleared or replaced since the query
        token = logs.bind(licence_id=licence_id)
        try:
            if send_and_clear(
                sqs,
                dynamodb,
                queue_url=queue_url,
                table=table,
                licence_id=licence_id,
                version=int(state["version"]),
                outbox_at=outbox_at,
            ):
                sent += 1
            else:
                failed += 1
        finally:
            logs.unbind(token)
    if found:
        log.info(
            "outbox swept",
            extra={"outcome": "swept", "count": sent, "reason": f"found {found}, failed {failed}"},
        )
    return SweepReport(found, sent, failed)


def sweep_from_wiring(now: datetime | None = None) -> SweepReport:
    from chalicelib import wiring

    settings = wiring.settings()
    return sweep(
        wiring.client("sqs"),
        wiring.client("dynamodb"),
        queue_url=settings.sync_queue_url,
        table=settings.licences_table,
        now=now,
    )
