"""GET /v1/feeds/licences and GET /v1/schemas through Chalice, against moto."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from chalice.test import Client

from app import app
from tests.conftest import ROOT
from tests.feed.conftest import OTHER_TOKEN, TOKEN, ZWNJ, FeedDb, feed_entry

FEED = "/v1/feeds/licences"


@pytest.fixture
def http(aws: dict[str, str], consumers: dict[str, str]) -> Any:
    # A stage without its own environment: the `aws` fixture's environment applies.
    return Client(app, stage_name="test", project_dir=str(ROOT)).http


def _get(http: Any, path: str, token: str | None = TOKEN, **headers: str) -> Any:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.get(path, headers=headers)


def _json(response: Any) -> Any:
    return json.loads(response.body.decode("utf-8"), parse_float=Decimal)


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = _json(response)
    assert body["status"] == status and body["correlation_id"]
    return body  # type: ignore[no-any-return]


def test_unauthenticated_and_wrong_token_get_401(http: Any, db: FeedDb) -> None:
    _problem(_get(http, FEED, token=None), 401)
    _problem(_get(http, FEED, token="lb_wrong_token_0000000000000000"), 401)
    _problem(_get(http, FEED, token="lb_read_only_token_xyz"), 403)  # no "feed" scope


def test_follow_next_through_the_api(http: Any, db: FeedDb) -> None:
    for n in range(1, 8):
        db.append(feed_entry(n))
    response = _get(http, f"{FEED}?limit=3")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    text = response.body.decode("utf-8")
    assert "\\u" not in text and f"کافه{ZWNJ}ی سیار 1" in text
    body = _json(response)
    assert [e["sequence"] for e in body["entries"]] == [1, 2, 3]
    assert body["has_more"] is True
    first = body["entries"][0]
    assert first["licence"]["fees"][0]["amount_rials"] == 123456789012345678901234567890
    assert first["licence"]["location"]["coordinates"]["lat"] == Decimal("35.6891975")
    seen = [e["sequence"] for e in body["entries"]]
    while body["has_more"]:
        body = _json(_get(http, f"{FEED}?limit=3&after={body['next']}"))
        seen.extend(e["sequence"] for e in body["entries"])
    assert seen == list(range(1, 8))
    # The last page's cursor resumes once more entries arrive.
    db.append(feed_entry(8))
    grown = _json(_get(http, f"{FEED}?limit=3&after={body['next']}"))
    assert [e["sequence"] for e in grown["entries"]] == [8]


def test_filters_through_the_api(http: Any, db: FeedDb) -> None:
    for n, (kind, district) in enumerate(
        [("FOOD_TRUCK", 5), ("CAR_WASH", 5), ("FOOD_TRUCK", 12), ("KINDERGARTEN", 12)], start=1
    ):
        db.append(feed_entry(n, kind, district))
    body = _json(_get(http, f"{FEED}?types=FOOD_TRUCK,KINDERGARTEN&districts=12"))
    assert [e["sequence"] for e in body["entries"]] == [3, 4]
    body = _json(_get(http, f"{FEED}?districts=05"))
    assert [e["sequence"] for e in body["entries"]] == [1, 2]


def test_etag_and_if_none_match(http: Any, db: FeedDb) -> None:
    db.append(feed_entry(1))
    first = _get(http, FEED)
    tag = first.headers["ETag"]
    assert tag.startswith('"')
    again = _get(http, FEED, **{"If-None-Match": tag})
    assert again.status_code == 304 and again.body in (b"", "")
    assert again.headers["ETag"] == tag
    db.append(feed_entry(2))  # the last page grew: a new body, a new tag
    grown = _get(http, FEED, **{"If-None-Match": tag})
    assert grown.status_code == 200 and grown.headers["ETag"] != tag
    # Another consumer's page is another body (its own cursor) even for the same entries.
    assert _get(http, FEED, token=OTHER_TOKEN).headers["ETag"] != grown.headers["ETag"]


def test_bad_forged_and_foreign_cursors_get_400(http: Any, db: FeedDb) -> None:
    db.append(feed_entry(1))
    body = _json(_get(http, f"{FEED}?types=FOOD_TRUCK"))
    cursor = body["next"]
    _problem(_get(http, f"{FEED}?after=garbage"), 400)
    _problem(_get(http, f"{FEED}?types=FOOD_TRUCK&after={cursor[:-3]}AAA"), 400)
    other_filter = _problem(_get(http, f"{FEED}?types=CAR_WASH&after={cursor}"), 400)
    assert "filter" in other_filter["detail"]
    other_consumer = _problem(
        _get(http, f"{FEED}?types=FOOD_TRUCK&after={cursor}", OTHER_TOKEN), 400
    )
    assert "consumer" in other_consumer["detail"]
    assert _get(http, f"{FEED}?types=FOOD_TRUCK&after={cursor}").status_code == 200


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=501", "limit=ten", "types=BAKERY", "districts=23", "districts=x"]
)
def test_bad_parameters_get_400(http: Any, db: FeedDb, query: str) -> None:
    _problem(_get(http, f"{FEED}?{query}"), 400)


def test_limit_bounds(http: Any, db: FeedDb) -> None:
    for n in range(1, 4):
        db.append(feed_entry(n))
    assert len(_json(_get(http, f"{FEED}?limit=500"))["entries"]) == 3
    assert len(_json(_get(http, f"{FEED}?limit=1"))["entries"]) == 1


def test_schemas_are_public(http: Any) -> None:
    index = http.get("/v1/schemas")
    assert index.status_code == 200 and "ETag" in index.headers
    listed = _json(index)
    schema_dir = ROOT / "chalicelib" / "schemas"
    published_types = sorted(p.stem for p in (schema_dir / "types").glob("*.json"))
    assert published_types
    assert sorted(t["name"] for t in listed["types"]) == published_types
    for item in listed["types"][:3] + listed["schemas"]:
        one = http.get(item["href"])
        assert one.status_code == 200
        assert one.headers["Content-Type"].startswith("application/schema+json")
        assert json.loads(one.body)["$id"] == item["$id"]
    _problem(http.get("/v1/schemas/NOT_A_TYPE"), 404)
    _problem(http.get("/v1/schemas/..%2Fconfig"), 404)
