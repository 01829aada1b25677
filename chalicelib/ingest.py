"""The webhook use case: from raw bytes to a recorded, queued licence event (issue 3).

Pure of Chalice: the API hands over a `Delivery` and gets an `Answer` or a `Problem`. Steps,
in order, each one the only place its decision is made:

1. size (413) and media type (415);
2. authenticity on the raw bytes (401, one answer for every cause);
3. the raw archive in S3, before anything else can fail;
4. parse (400) and validate (422, every issue);
5. authorisation of the source for the licence type and district (403);
6. idempotency on `<source>#<webhook-id>` (replay, or 409 for a different body);
7. lifecycle and version (stale: recorded with applied=false; illegal: 409);
8. one transaction: idempotency, state + outbox marker, history, feed entry;
   then the sync message, then the marker is cleared (the sweeper covers a crash between);
9. 202.

Any failure of ours raises (a 5xx for the sender to retry): nothing is acknowledged that
was not recorded.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from chalicelib import archive, lifecycle, logs, outbox, store
from chalicelib.config import Settings
from chalicelib.jsonparse import JsonParseError, parse_json
from chalicelib.problems import Problem, unauthenticated, unavailable
from chalicelib.secrets import SecretStore, SecretUnavailableError
from chalicelib.sources import Source, load_source
from chalicelib.webhook_auth import WebhookAuthError, verify

MAX_BODY_BYTES = 256 * 1024
# Attempts at the commit when another event for the same licence moved the state under us.
COMMIT_ATTEMPTS = 5

log = logs.get_logger("ingest")


@dataclass(frozen=True)
class Delivery:
    source: str
    body: bytes
    headers: Mapping[str, str]
    correlation_id: str


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _default_validate(parsed: Any) -> Any:
    from chalicelib.validation import validate_event

    return validate_event(parsed)


@dataclass
class Ingest:
    settings: Settings
    secrets: SecretStore
    dynamodb: Any
    s3: Any
    sqs: Any
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    validate: Callable[[Any], Any] = _default_validate

    @classmethod
    def from_wiring(cls) -> Ingest:
        from chalicelib import wiring

        return cls(
            settings=wiring.settings(),
            secrets=wiring.secret_store(),
            dynamodb=wiring.client("dynamodb"),
            s3=wiring.client("s3"),
            sqs=wiring.client("sqs"),
        )

    @property
    def tables(self) -> store.Tables:
        s = self.settings
        return store.Tables(s.licences_table, s.feed_table, s.idempotency_table)

    def handle(self, delivery: Delivery) -> Answer:
        started = time.perf_counter()
        token = logs.bind(source=delivery.source)
        try:
            answer = self._handle(delivery)
        except Problem as problem:
            level = log.error if problem.status >= 500 else log.info
            level(
                "webhook not accepted",
                extra={"outcome": "rejected", "status": problem.status, "reason": problem.detail},
            )
            raise
        else:
            outcome = "replayed" if answer.replayed else "accepted"
            if not answer.body.get("applied", True):
                outcome = "stale" if not answer.replayed else outcome
            log.info(
                "webhook answered",
                extra={
                    "outcome": outcome,
                    "status": answer.status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                },
            )
            return answer
        finally:
            logs.unbind(token)

    def _handle(self, delivery: Delivery) -> Answer:
        received = self.clock()
        source, webhook_id = self._admit(delivery, received)
        event = self._understand(delivery, source)
        key = f"{source.name}#{webhook_id}"
        body_sha256 = hashlib.sha256(delivery.body).hexdigest()
        # 6. idempotency: a cheap read answers most redeliveries; the conditional put in the
        # commit is what makes two simultaneous deliveries one effect.
        with _ours("idempotency"):
            earlier = store.get_idempotency(self.dynamodb, self.settings.idempotency_table, key)
        if earlier is not None:
            return _replay(earlier, body_sha256)
        return self._record(
            event,
            source=source.name,
            webhook_id=webhook_id,
            key=key,
            body_sha256=body_sha256,
            received=received,
            correlation_id=delivery.correlation_id,
        )

    def _admit(self, delivery: Delivery, received: datetime) -> tuple[Source, str]:
        """Steps 1 to 3: size, media type, authenticity, archive."""
        if len(delivery.body) > MAX_BODY_BYTES:
            raise Problem(413, f"The body is larger than {MAX_BODY_BYTES // 1024} KB.")
        media_type = _header(delivery.headers, "content-type").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise Problem(415, "The body must be sent as application/json.")
        with _ours("secrets"):
            source = load_source(self.secrets, delivery.source)
        if source is None:
            log.warning("webhook not authenticated", extra={"reason": "unknown source"})
            raise unauthenticated()
        try:
            verified = verify(
                delivery.body, delivery.headers, source.secrets, now=received.timestamp
            )
        except WebhookAuthError as error:
            log.warning("webhook not authenticated", extra={"reason": error.reason})
            raise unauthenticated() from None
        logs.bind(webhook_id=verified.webhook_id)
        with _ours("archive"):
            archive.put_raw(
                self.s3,
                bucket=self.settings.archive_bucket,
                key=archive.archive_key(source.name, verified.webhook_id, received),
                body=delivery.body,
                headers=delivery.headers,
                correlation_id=delivery.correlation_id,
            )
        return source, verified.webhook_id

    def _understand(self, delivery: Delivery, source: Source) -> dict[str, Any]:
        """Steps 4 and 5: parse, validate, lifecycle consistency, authorisation."""
        try:
            parsed = parse_json(delivery.body)
        except (JsonParseError, RecursionError, ValueError) as error:
            raise Problem(400, f"The body is not well-formed JSON: {error}.") from None
        result = self.validate(parsed)
        if not result.ok:
            raise Problem(422, "The event does not match its schema.", errors=result.issues)
        event: dict[str, Any] = result.document
        licence = event["licence"]
        logs.bind(licence_id=licence["licence_id"], event_type=event["event_type"])
        violations = lifecycle.check_event(event)
        if violations:
            raise Problem(422, "The event contradicts the licence lifecycle.", errors=violations)
        if event["source"] != source.name:
            raise Problem(403, "The event's source is not the source it was posted to.")
        if not source.allows(str(licence["licence_type"]), int(licence["issuing"]["district"])):
            raise Problem(403, "This source is not registered for this licence type or district.")
        return event

    def _record(
        self,
        event: dict[str, Any],
        *,
        source: str,
        webhook_id: str,
        key: str,
        body_sha256: str,
        received: datetime,
        correlation_id: str,
    ) -> Answer:
        """Steps 7 to 9; the decision is made again if another event moved the state."""
        licence: dict[str, Any] = event["licence"]
        licence_id = str(licence["licence_id"])
        version = int(licence["version"])
        event_type = str(event["event_type"])
        district = str(int(licence["issuing"]["district"]))
        received_at = archive.received_at_text(received)
        for _ in range(COMMIT_ATTEMPTS):
            with _ours("state"):
                state = store.get_state(self.dynamodb, self.settings.licences_table, licence_id)
            current = (
                lifecycle.Current(str(state["status"]), int(state["version"])) if state else None
            )
            try:
                decision = lifecycle.decide(current, event_type, version)
            except lifecycle.IllegalTransition as illegal:
                raise Problem(
                    409,
                    illegal.reason,
                    slug="illegal-transition",
                    extra={"detail_fa": illegal.reason_fa, "licence_id": licence_id},
                ) from None
            response: dict[str, Any] = {
                "event_id": event["event_id"],
                "licence_id": licence_id,
                "tracking_code": licence["tracking_code"],
                "version": version,
                "applied": decision.applied,
                "sync": "queued" if decision.applied else "skipped",
            }
            if decision.reason:
                response["reason"] = decision.reason
            items = [
                store.idempotency_put(
                    self.settings.idempotency_table,
                    key,
                    body_sha256,
                    response,
                    int(received.timestamp()),
                ),
                store.history_put(
                    self.settings.licences_table,
                    licence_id=licence_id,
                    entry={
                        "webhook_id": webhook_id,
                        "source": source,
                        "event_id": event["event_id"],
                        "event_type": event_type,
                        "occurred_at": event["occurred_at"],
                        "received_at": received_at,
                        "version": version,
                        "applied": decision.applied,
                        "reason": decision.reason,
                        "status_before": decision.status_before,
                        "status_after": decision.status_after,
                        "correlation_id": correlation_id,
                        "licence": licence,
                    },
                ),
            ]
            feed_entry = None
            if decision.applied:
                items.insert(
                    1,
                    store.state_update(
                        self.settings.licences_table,
                        licence_id=licence_id,
                        expected_version=current.version if current else None,
                        licence=licence,
                        version=version,
                        status=str(decision.status_after),
                        licence_type=str(licence["licence_type"]),
                        district=district,
                        tracking_code=str(licence["tracking_code"]),
                        updated_at=str(event["occurred_at"]),
                        received_at=received_at,
                    ),
                )
                feed_entry = {
                    "licence_id": licence_id,
                    "licence_type": licence["licence_type"],
                    "district": district,
                    "event_type": event_type,
                    "status": decision.status_after,
                    "version": version,
                    "changed_at": event["occurred_at"],
                    "record": licence,
                }
            try:
                with _ours("commit"):
                    store.commit(self.dynamodb, self.tables, items, feed_entry)
            except store.CommitConflict as conflict:
                if conflict.duplicate:
                    return self._after_lost_race(key, body_sha256)
                continue
            if decision.applied:
                # The marker stays if the send fails: the sweeper sends it later.
                outbox.send_and_clear(
                    self.sqs,
                    self.dynamodb,
                    queue_url=self.settings.sync_queue_url,
                    table=self.settings.licences_table,
                    licence_id=licence_id,
                    version=version,
                    outbox_at=received_at,
                )
            return Answer(202, response)
        raise unavailable("The licence is being changed by other events; please retry.")

    def _after_lost_race(self, key: str, body_sha256: str) -> Answer:
        with _ours("idempotency"):
            earlier = store.get_idempotency(self.dynamodb, self.settings.idempotency_table, key)
        if earlier is None:  # cannot happen while the record lives; retrying will tell
            raise unavailable()
        return _replay(earlier, body_sha256)


def _replay(earlier: store.IdempotencyRecord, body_sha256: str) -> Answer:
    if earlier.body_sha256 != body_sha256:
        raise Problem(
            409,
            "This webhook id was already used with a different body.",
            slug="idempotency-conflict",
        )
    body = {k: _plain(v) for k, v in earlier.response.items()}
    return Answer(earlier.status, body, replayed=True)


def _plain(value: Any) -> Any:
    # DynamoDB gives numbers back as Decimal; the answer's numbers are integers.
    from decimal import Decimal

    return int(value) if isinstance(value, Decimal) else value


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value or ""


@contextmanager
def _ours(step: str) -> Iterator[None]:
    """Failures of AWS calls are ours: a 503 the sender retries, logged with the step."""
    try:
        yield
    except (Problem, store.CommitConflict):
        raise
    except SecretUnavailableError as error:
        log.error("dependency failed", extra={"reason": step, "error": str(error)})
        raise unavailable() from None
    except Exception as error:
        log.error("dependency failed", extra={"reason": step, "error": type(error).__name__})
        raise unavailable() from None
