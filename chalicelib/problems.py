"""RFC 9457 problem details: the one shape of every error this API answers, 4xx or 5xx.

A `Problem` is raised by the use cases (which know nothing of HTTP frameworks) and turned
into `application/problem+json` at the edge. The body never carries a stack trace or a class
name: `type` is one of our documented URIs and `detail` is written for the caller. Every body
has the request's correlation id, so a caller's report can be matched to our logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from chalicelib import logs
from chalicelib.jsonparse import encode_json

PROBLEM_BASE = "https://schemas.licence-bridge.ir/problems/"
PROBLEM_CONTENT_TYPE = "application/problem+json"
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

_TITLES = {
    400: "Bad request",
    401: "Unauthorised",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}

_SLUGS = {
    400: "bad-request",
    401: "unauthorised",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "payload-too-large",
    415: "unsupported-media-type",
    422: "invalid-event",
    429: "rate-limited",
    500: "internal-error",
    502: "bad-gateway",
    503: "unavailable",
    504: "timeout",
}


class IssueLike(Protocol):
    """validation.Issue and lifecycle.Violation both have this shape."""

    @property
    def pointer(self) -> str: ...
    @property
    def rule(self) -> str: ...
    @property
    def message(self) -> str: ...
    @property
    def message_fa(self) -> str: ...
    @property
    def value(self) -> Any: ...


class Problem(Exception):
    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        errors: Iterable[IssueLike] = (),
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _SLUGS.get(status, "error")
        self.title = title or _TITLES.get(status, "Error")
        self.errors = tuple(errors)
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def body(self, *, instance: str, correlation_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "instance": instance,
            "correlation_id": correlation_id,
        }
        body.update(self.extra)
        if self.errors:
            body["errors"] = [
                {
                    "pointer": e.pointer,
                    "rule": e.rule,
                    "message": e.message,
                    "message_fa": e.message_fa,
                    "value": e.value,
                }
                for e in self.errors
            ]
        return body


def unauthenticated() -> Problem:
    # One answer for every cause: which check failed is for our logs, not the caller.
    return Problem(401, "The request could not be authenticated.", slug="unauthenticated")


def internal_error() -> Problem:
    return Problem(500, "Something failed on our side; the request was not accepted. Please retry.")


def unavailable(detail: str = "A service we depend on is unavailable; please retry.") -> Problem:
    return Problem(503, detail, headers={"Retry-After": "5"})


# --- JSON out -------------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """JSON text as we answer it: UTF-8 Persian left as is, Decimals exact."""
    return encode_json(value).decode("utf-8")


# --- Chalice edge ---------------------------------------------------------------------------


def response_for(problem: Problem, *, instance: str, correlation_id: str) -> Any:
    from chalice.app import Response

    headers: dict[str, str | list[str]] = {"Content-Type": PROBLEM_CONTENT_TYPE, **problem.headers}
    if problem.status >= 500:
        logs.metric("ServerErrors")
    return Response(
        body=dumps(problem.body(instance=instance, correlation_id=correlation_id)),
        headers=headers,
        status_code=problem.status,
    )


def instance_of(request: Any) -> str:
    context = getattr(request, "context", None) or {}
    path = context.get("path") or getattr(request, "path", None) or "/"
    return str(path)


def _chalice_detail(response: Any) -> str:
    body = response.body
    if (
        isinstance(body, dict)
        and isinstance(body.get("Message"), str)
        and response.status_code < 500
    ):
        return str(body["Message"])
    return "The request could not be served."


def install(app: Any) -> None:
    """Register the middleware, and mask Chalice's own log (it logs tracebacks of errors
    that escape a view, which may quote personal data)."""
    app.register_middleware(http_middleware, "http")
    logs.adopt(app.log)


def http_middleware(request: Any, get_response: Callable[[Any], Any]) -> Any:
    """Give every answer a correlation id and turn any non-problem error into problem+json.

    Our views answer problems themselves; this catches what Chalice answers on its own
    (405, its 500 for an exception that escaped a view) so no other error shape leaks out.
    """
    correlation_id = logs.correlation_id_for(request)
    token = logs.bind(correlation_id=correlation_id)
    try:
        try:
            response = get_response(request)
        except Exception:
            logs.get_logger("problems").exception("unhandled error", extra={"outcome": "error"})
            response = response_for(
                internal_error(), instance=instance_of(request), correlation_id=correlation_id
            )
        content_type = str(response.headers.get("Content-Type", ""))
        if response.status_code >= 400 and not content_type.startswith(PROBLEM_CONTENT_TYPE):
            status = int(response.status_code)
            problem = Problem(status, _chalice_detail(response)) if status < 500 else None
            if problem is None:
                logs.get_logger("problems").error(
                    "error answered by the framework", extra={"outcome": "error", "status": status}
                )
                problem = internal_error() if status == 500 else Problem(status, "Please retry.")
            response = response_for(
                problem, instance=instance_of(request), correlation_id=correlation_id
            )
        response.headers["X-Correlation-Id"] = correlation_id
        return response
    finally:
        logs.unbind(token)
