"""The HTTP edge: Chalice blueprints and the few helpers they share.

Views stay thin: read the request, call a use case or the store, answer JSON. Every error
leaves as problem+json through `guarded`; what Chalice answers by itself is converted by
`chalicelib.problems.http_middleware`, registered in app.py.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from chalice.app import Response

from chalicelib import logs, problems
from chalicelib.jsonparse import encode_json

log = logs.get_logger("api")


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    # Our encoder keeps Decimals exact; Chalice's own would pass them through float.
    return Response(
        body=encode_json(body).decode("utf-8"),
        headers={"Content-Type": problems.JSON_CONTENT_TYPE, **dict(headers or {})},
        status_code=status,
    )


def correlation_id(request: Any) -> str:
    return logs.correlation_id_for(request)


def guarded(blueprint: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Apply under `@blueprint.route`: Problems become problem+json; any other exception is
    logged (masked) and becomes a 500 problem, never Chalice's own body or a traceback."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request = blueprint.current_request
            try:
                return view(*args, **kwargs)
            except problems.Problem as problem:
                return problems.response_for(
                    problem,
                    instance=problems.instance_of(request),
                    correlation_id=correlation_id(request),
                )
            except Exception:
                log.exception("unhandled error", extra={"outcome": "error"})
                return problems.response_for(
                    problems.internal_error(),
                    instance=problems.instance_of(request),
                    correlation_id=correlation_id(request),
                )

        return wrapper

    return decorate
