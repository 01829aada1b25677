"""POST /v1/webhooks/{source}: hands the raw request to the ingest use case."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint

from chalicelib.api import correlation_id, guarded, json_response
from chalicelib.ingest import Delivery, Ingest

blueprint = Blueprint(__name__)


# Every content type reaches the view: the 415 is ours (problem+json, after the size check),
# and the body must arrive as the exact bytes that were signed.
@blueprint.route("/v1/webhooks/{source}", methods=["POST"], content_types=["*/*"])
@guarded(blueprint)
def post_webhook(source: str) -> Any:
    request = blueprint.current_request
    raw = request.raw_body
    body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    answer = Ingest.from_wiring().handle(
        Delivery(
            source=source,
            body=body,
            headers=request.headers,
            correlation_id=correlation_id(request),
        )
    )
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else {}
    return json_response(answer.body, answer.status, headers)
