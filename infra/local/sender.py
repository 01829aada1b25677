"""Post a dataset as Standard Webhooks, as a real municipal sender would.

A few concurrent senders; each takes one licence's lane at a time and sends it in order.
Every request is signed with the `standardwebhooks` package (new timestamp per attempt, same
webhook id and body, as the spec asks of retries). 5xx, 429 and network errors are retried
with backoff; a 409 for an illegal transition (an event that overtook its predecessor) is
parked and retried after the lane's next delivery, a bounded number of times.
"""

from __future__ import annotations

import base64
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from standardwebhooks.webhooks import Webhook

from infra.local.dataset import Delivery

RETRYABLE = {429, 500, 502, 503, 504}
MAX_ATTEMPTS = 6
MAX_ORDER_RETRIES = 6


@dataclass
class Outcome:
    delivery: Delivery
    status: int | None = None  # the final answer's status; None: never answered
    body: Any = None
    attempts: int = 0
    transient_retries: int = 0  # 5xx/429/network retries
    order_retries: int = 0  # 409 illegal-transition retries
    statuses: list[int] = field(default_factory=list)  # every answer, in order
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 202

    @property
    def applied(self) -> bool:
        return self.accepted and isinstance(self.body, dict) and bool(self.body.get("applied"))


def _sign(secret: str, webhook_id: str, body: bytes, when: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(webhook_id, when, body.decode("utf-8"))
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def _wrong_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def is_order_conflict(status: int, body: Any) -> bool:
    """409 because the event overtook one it depends on (retry later), not an id clash."""
    if status != 409 or not isinstance(body, dict):
        return False
    kind = str(body.get("type", ""))
    return kind.endswith("illegal-transition") or "transition" in kind


class Sender:
    def __init__(
        self,
        api_url: str,
        source_secrets: dict[str, str],
        concurrency: int = 4,
        timeout: float = 30.0,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.source_secrets = source_secrets
        self.concurrency = concurrency
        self.timeout = timeout
        self.progress = progress or (lambda n: None)
        self._local = threading.local()
        self.outcomes: list[Outcome] = []
        self._lock = threading.Lock()

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # loopback only: never through a proxy
            self._local.session = session
        return session

    def send_all(self, deliveries: list[Delivery]) -> list[Outcome]:
        lanes: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            lanes.setdefault(delivery.lane, []).append(delivery)
        with ThreadPoolExecutor(self.concurrency, thread_name_prefix="sender") as pool:
            for result in pool.map(self.send_lane, lanes.values()):
                with self._lock:
                    self.outcomes.extend(result)
        order = {d.seq: i for i, d in enumerate(deliveries)}
        self.outcomes.sort(key=lambda o: (order.get(o.delivery.seq, 0), o.attempts))
        return self.outcomes

    def send_lane(self, lane: list[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        parked: deque[Outcome] = deque()
        for delivery in lane:
            outcome = Outcome(delivery)
            outcomes.append(outcome)
            self._attempt(outcome)
            if is_order_conflict(outcome.status or 0, outcome.body):
                parked.append(outcome)
            elif outcome.accepted:
                self._retry_parked(parked, final=False)
        self._retry_parked(parked, final=True)
        for outcome in outcomes:
            if outcome not in parked:
                self.progress(1)
        self.progress(len(parked))
        return outcomes

    def _retry_parked(self, parked: deque[Outcome], final: bool) -> None:
        rounds = MAX_ORDER_RETRIES if final else 1
        for round_ in range(rounds):
            if not parked:
                return
            if final:
                time.sleep(min(2.0, 0.1 * 2**round_))
            for _ in range(len(parked)):
                outcome = parked.popleft()
                if outcome.order_retries >= MAX_ORDER_RETRIES:
                    parked.append(outcome)
                    continue
                outcome.order_retries += 1
                self._attempt(outcome)
                if is_order_conflict(outcome.status or 0, outcome.body):
                    parked.append(outcome)
        if final:
            parked.clear()

    def _attempt(self, outcome: Outcome) -> None:
        """Send once, retrying transient failures; leaves the final answer on the outcome."""
        delivery = outcome.delivery
        url = f"{self.api_url}/v1/webhooks/{delivery.source}"
        for attempt in range(MAX_ATTEMPTS):
            outcome.attempts += 1
            when = datetime.now(UTC)
            secret = self.source_secrets.get(delivery.source, "")
            if delivery.signing == "wrong_secret" or not secret:
                secret = _wrong_secret()
            if delivery.signing == "stale":
                when -= timedelta(minutes=10)
            headers = _sign(secret, delivery.webhook_id, delivery.body, when)
            try:
                response = self._session().post(
                    url, data=delivery.body, headers=headers, timeout=self.timeout
                )
            except requests.RequestException as exc:
                outcome.error = type(exc).__name__
                outcome.status = None
                if attempt + 1 < MAX_ATTEMPTS:
                    outcome.transient_retries += 1
                    time.sleep(min(5.0, 0.2 * 2**attempt))
                continue
            outcome.status = response.status_code
            outcome.statuses.append(response.status_code)
            try:
                outcome.body = response.json()
            except ValueError:
                outcome.body = response.text[:500]
            if response.status_code in RETRYABLE and attempt + 1 < MAX_ATTEMPTS:
                outcome.transient_retries += 1
                delay = response.headers.get("Retry-After")
                time.sleep(
                    float(delay) if delay and delay.isdigit() else min(5.0, 0.2 * 2**attempt)
                )
                continue
            outcome.error = None
            return


def problem_reason(body: Any) -> str | None:
    """A human-readable reason from a problem+json answer, or None if it carries none."""
    if not isinstance(body, dict):
        return None
    parts = [str(body.get(k)) for k in ("title", "detail") if body.get(k)]
    errors = body.get("errors") or body.get("issues") or []
    if isinstance(errors, list):
        parts += [
            f"{e.get('pointer', '')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)
        ]
    return "; ".join(parts) or None


def problem_pointers(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return []
    errors = body.get("errors") or body.get("issues") or []
    return [str(e.get("pointer", "")) for e in errors if isinstance(e, dict)]
