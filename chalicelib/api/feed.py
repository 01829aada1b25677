"""The change feed and the published schemas, as HTTP.

- `GET /v1/feeds/licences?after=&limit=&types=&districts=`: authenticated (scope `feed`).
  `limit` defaults to 100; outside 1..500 it is a 400, not silently clamped, so a consumer
  learns the real page size instead of wondering why it got fewer entries than it asked for.
  `types` are licence type codes and `districts` numbers 1-22, both comma-separated (or
  repeated); anything else is a 400. Every page has `next`, so a follower can resume even
  from the (growing) last page, and an ETag; `If-None-Match` with it answers 304.
- `GET /v1/schemas`, `GET /v1/schemas/{name}`: public. They are what integrators validate
  against before they send, hold no data, and are the same for everyone.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Blueprint, Response

from chalicelib import feed, logs, wiring
from chalicelib.auth import require_consumer
from chalicelib.cursors import CursorCodec, CursorError
from chalicelib.jsonparse import encode_json
from chalicelib.licence_types import LICENCE_TYPES
from chalicelib.problems import JSON_CONTENT_TYPE, Problem, instance_of, response_for, unavailable
from chalicelib.secrets import SecretUnavailableError

blueprint = Blueprint(__name__)

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_CONTENT_TYPE = "application/schema+json; charset=utf-8"
_TYPE_CODES = frozenset(t.code for t in LICENCE_TYPES)
_DISTRICTS = frozenset(str(n) for n in range(1, 23))
# Named schemas besides the 22 type schemas: the ones a type schema refers to.
_NAMED_SCHEMAS = {
    "licence": "licence.json",
    "envelope": "envelope.json",
    "defs": "common/defs.json",
}


def _problem_response(request: Any, problem: Problem) -> Response:
    return response_for(  # type: ignore[no-any-return]
        problem,
        instance=instance_of(request),
        correlation_id=logs.correlation_id_for(request),
    )


def _bad_request(detail: str) -> Problem:
    return Problem(400, detail)


def _values(request: Any, name: str) -> list[str]:
    params = request.query_params or {}
    if name not in params:
        return []
    getlist = getattr(params, "getlist", None)
    raw = getlist(name) if getlist is not None else [params[name]]
    return [part.strip() for value in raw for part in str(value).split(",") if part.strip()]


def _single(request: Any, name: str) -> str | None:
    values = (request.query_params or {}).get(name)
    return None if values is None else str(values)


def _filter(request: Any) -> feed.FeedFilter:
    types = _values(request, "types")
    unknown_types = sorted(set(types) - _TYPE_CODES)
    if unknown_types:
        raise _bad_request(f"unknown licence type(s): {', '.join(unknown_types)}")
    districts = [feed.normalise_district(d) or "" for d in _values(request, "districts")]
    bad = sorted(set(districts) - _DISTRICTS)
    if bad:
        raise _bad_request("districts must be numbers from 1 to 22")
    return feed.FeedFilter.of(types, districts)


def _limit(request: Any) -> int:
    raw = _single(request, "limit")
    if raw is None:
        return feed.DEFAULT_LIMIT
    # Decimal digits (Persian ones too, as for districts), and few of them: int() refuses
    # "²" (a digit to isdigit) and thousands of digits, either a 500 instead of this 400.
    if not (raw.isdecimal() and len(raw) <= 4) or not (1 <= int(raw) <= feed.MAX_LIMIT):
        raise _bad_request(f"limit must be an integer from 1 to {feed.MAX_LIMIT}")
    return int(raw)


def _codec() -> CursorCodec:
    try:
        key = wiring.secret_store().get_text("feed-cursor-key")
    except SecretUnavailableError:
        raise unavailable() from None
    if not key:
        # Without the key no cursor can be checked; never fall back to an unsigned one.
        logs.get_logger("feed").error("feed cursor key missing", extra={"outcome": "error"})
        raise unavailable("The feed is not available; please retry later.")
    return CursorCodec(key.encode("utf-8"))


def _not_modified(request: Any, tag: str) -> bool:
    header = (request.headers or {}).get("if-none-match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    offered = {t.strip().removeprefix("W/") for t in header.split(",")}
    return tag in offered


def _answer(request: Any, body: bytes, content_type: str, cache_control: str) -> Response:
    tag = feed.etag(body)
    headers: dict[str, str | list[str]] = {"ETag": tag, "Cache-Control": cache_control}
    if _not_modified(request, tag):
        return Response(body="", headers=headers, status_code=304)
    headers["Content-Type"] = content_type
    return Response(body=body.decode("utf-8"), headers=headers, status_code=200)


@blueprint.route("/v1/feeds/licences", methods=["GET"])
def feed_licences() -> Response:
    request = blueprint.current_request
    try:
        consumer = require_consumer(request, "feed")
        feed_filter = _filter(request)
        limit = _limit(request)
        after_text = _single(request, "after")
        codec = _codec()
        canonical = feed_filter.canonical()
        after = 0
        if after_text is not None:
            try:
                after = codec.decode(after_text, canonical, consumer)
            except CursorError as error:
                raise _bad_request(f"invalid cursor: {error}") from None
        page = feed.read_page(
            wiring.client("dynamodb"),
            feed_table=wiring.settings().feed_table,
            after=after,
            limit=limit,
            feed_filter=feed_filter,
        )
    except Problem as problem:
        return _problem_response(request, problem)
    body = feed.page_body(page, codec.encode(page.position, canonical, consumer))
    logs.get_logger("feed").info(
        "feed page",
        extra={"consumer": consumer, "count": len(page.entries), "outcome": "served"},
    )
    # Private: pages depend on the consumer (the cursor is theirs); no-cache: the last page grows.
    return _answer(request, body, JSON_CONTENT_TYPE, "private, no-cache")


# --------------------------------------------------------------------------- schemas


def _schema_path(name: str) -> Path | None:
    if name in _TYPE_CODES:
        path = SCHEMA_DIR / "types" / f"{name}.json"
    elif name in _NAMED_SCHEMAS:
        path = SCHEMA_DIR / _NAMED_SCHEMAS[name]
    else:
        return None
    return path if path.is_file() else None


@cache
def _schema_bytes(name: str) -> bytes | None:
    path = _schema_path(name)
    return None if path is None else path.read_bytes()


def _schema_id(name: str) -> str | None:
    raw = _schema_bytes(name)
    if raw is None:
        return None
    value = json.loads(raw).get("$id")
    return value if isinstance(value, str) else None


@cache
def _index_body() -> bytes:
    named = [
        {"name": name, "$id": _schema_id(name), "href": f"/v1/schemas/{name}"}
        for name in _NAMED_SCHEMAS
        if _schema_bytes(name) is not None
    ]
    types = [
        {
            "name": t.code,
            "title_fa": t.title_fa,
            "title_en": t.title_en,
            "$id": _schema_id(t.code),
            "href": f"/v1/schemas/{t.code}",
        }
        for t in LICENCE_TYPES
        if _schema_bytes(t.code) is not None
    ]
    return encode_json({"schemas": named, "types": types})


@blueprint.route("/v1/schemas", methods=["GET"])
def schema_index() -> Response:
    return _answer(
        blueprint.current_request, _index_body(), JSON_CONTENT_TYPE, "public, max-age=300"
    )


@blueprint.route("/v1/schemas/{name}", methods=["GET"])
def schema_one(name: str) -> Response:
    request = blueprint.current_request
    raw = _schema_bytes(name)
    if raw is None:
        return _problem_response(request, Problem(404, f"no published schema named {name!r}"))
    return _answer(request, raw, SCHEMA_CONTENT_TYPE, "public, max-age=300")
