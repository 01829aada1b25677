"""GET /v1/licences/{id}, /v1/licences/{id}/history (bearer token, scope "read") and the
public, rate-limited GET /v1/track/{tracking_code}."""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Blueprint

from chalicelib import store, wiring
from chalicelib.api import guarded, json_response
from chalicelib.auth import require_consumer
from chalicelib.licence_types import BY_CODE
from chalicelib.problems import Problem, unavailable

blueprint = Blueprint(__name__)

_LICENCE_ID = re.compile(r"^TM-[0-9]{2}-[0-9]{4}-[0-9]{6}$")
_TRACKING_CODE = re.compile(r"^[0-9]{10}$")


class RateLimiter:
    """Token bucket per client, in this container's memory.

    The deployed API also has API Gateway throttling on the tracking route (all clients
    together); this one is per client and is what holds under `chalice local`. Lambda runs
    several containers, so in the cloud a client may get up to that many times the rate.
    """

    def __init__(
        self,
        capacity: int = 20,
        per_second: float = 20 / 60,
        max_clients: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity, self.per_second, self.max_clients = capacity, per_second, max_clients
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """0 when allowed, else the seconds to wait."""
        now = self._clock()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.capacity), now))
            tokens = min(self.capacity, tokens + (now - last) * self.per_second)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.per_second
            self._buckets[client] = (tokens - 1 if wait == 0 else tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
            return wait


tracking_limiter = RateLimiter()


def _client_of(request: Any) -> str:
    # API Gateway's sourceIp, not X-Forwarded-For, which the caller can write.
    identity = (request.context or {}).get("identity") or {}
    return str(identity.get("sourceIp") or "unknown")


def _not_found(what: str, key: str = "id") -> Problem:
    return Problem(404, f"No {what} with this {key} is recorded.")


def _state(licence_id: str) -> dict[str, Any]:
    if not _LICENCE_ID.match(licence_id):
        raise _not_found("licence")
    try:
        state = store.get_state(
            wiring.client("dynamodb"), wiring.settings().licences_table, licence_id
        )
    except Exception:
        raise unavailable() from None
    if state is None:
        raise _not_found("licence")
    return state


def sync_view(state: Mapping[str, Any], *, detailed: bool) -> dict[str, Any]:
    view: dict[str, Any] = {"status": state.get("sync_status", "queued")}
    if not detailed:
        return view
    if state.get("portal_licence_id"):
        view["portal_licence_id"] = state["portal_licence_id"]
    if state.get("synced_version") is not None:
        view["synced_version"] = state["synced_version"]
    if state.get("sync_error"):
        view["error"] = state["sync_error"]
    if state.get("sync_reasons"):
        view["reasons"] = state["sync_reasons"]
    return view


@blueprint.route("/v1/licences/{licence_id}", methods=["GET"])
@guarded(blueprint)
def get_licence(licence_id: str) -> Any:
    require_consumer(blueprint.current_request, "read")
    state = _state(licence_id)
    return json_response(
        {
            "licence_id": licence_id,
            "licence_type": state.get("licence_type"),
            "status": state.get("status"),
            "version": state.get("version"),
            "tracking_code": state.get("tracking_code"),
            "updated_at": state.get("updated_at"),
            "received_at": state.get("received_at"),
            "sync": sync_view(state, detailed=True),
            "licence": state.get("licence"),
        }
    )


@blueprint.route("/v1/licences/{licence_id}/history", methods=["GET"])
@guarded(blueprint)
def get_history(licence_id: str) -> Any:
    require_consumer(blueprint.current_request, "read")
    _state(licence_id)
    try:
        items = store.get_history(
            wiring.client("dynamodb"), wiring.settings().licences_table, licence_id
        )
    except Exception:
        raise unavailable() from None
    fields = (
        "received_at",
        "webhook_id",
        "source",
        "event_id",
        "event_type",
        "occurred_at",
        "version",
        "applied",
        "reason",
        "status_before",
        "status_after",
        "licence",
    )
    events = [{name: item.get(name) for name in fields} for item in items]
    return json_response({"licence_id": licence_id, "events": events})


@blueprint.route("/v1/track/{tracking_code}", methods=["GET"])
@guarded(blueprint)
def track(tracking_code: str) -> Any:
    request = blueprint.current_request
    wait = tracking_limiter.take(_client_of(request))
    if wait:
        raise Problem(
            429,
            "Too many tracking requests; please wait.",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    if not _TRACKING_CODE.match(tracking_code):
        raise _not_found("licence", "tracking code")
    try:
        state = store.get_state_by_tracking_code(
            wiring.client("dynamodb"), wiring.settings().licences_table, tracking_code
        )
    except Exception:
        raise unavailable() from None
    if state is None:
        raise _not_found("licence", "tracking code")
    licence = state.get("licence") or {}
    steps = licence.get("steps") or {}
    code = str(state.get("licence_type"))
    kind = BY_CODE.get(code)
    # Only what a citizen at the service desk needs: nothing that names or reaches a person.
    return json_response(
        {
            "tracking_code": tracking_code,
            "licence_type": code,
            "licence_type_title_fa": kind.title_fa if kind else None,
            "status": state.get("status"),
            "stage": steps.get("current") or state.get("status"),
            "steps": {"done": steps.get("done"), "total": steps.get("total")},
            "updated_at": state.get("updated_at"),
            "sync": sync_view(state, detailed=False),
        }
    )
