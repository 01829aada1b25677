"""Hostile input, every route: each bad request gets its precise 4xx in problem+json with a
correlation id, never a 500 or a trace; authenticated bodies are archived; logs stay masked.

Regressions kept here (each was a 500 or a silent accept before its fix):
- a lone surrogate escape (`"\\ud800"`) reached DynamoDB and the answer encoder: now a 400;
- a NUL (or another C0 control) escape in a string was accepted, and the portal's SOAP
  (XML 1.0) cannot carry it: now a 400 naming the string's pointer;
- `licence_type` given as an array made the validator raise (unhashable): now a 422;
- a version of `1e999` or 400 digits passed the schema and failed in DynamoDB: now a 422
  (at most 2^53-1), and money above the portal's xsd:long is a 422 too;
- `limit=²` or `districts=²` (digits to str.isdigit, not to int()) on the feed: now a 400.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ROOT
from tests.ingest.conftest import (
    FEED_TOKEN,
    READ_TOKEN,
    SECRET_A,
    Bridge,
    signed_headers,
)
from tests.ingest.payloads import HOLDER_NATIONAL_ID, encode, event

PROBLEM = "application/problem+json"
# Words that would mean a trace or one of our class names reached a body.
LEAKS = ("Traceback", 'File "', "Error:", "Exception", "botocore", "chalicelib", "Decimal(")


def problem_of(response: Any, status: int, label: str = "") -> dict[str, Any]:
    body = response.body.decode("utf-8") if isinstance(response.body, bytes) else response.body
    assert response.status_code == status, (label, response.status_code, body[:300])
    assert response.headers["content-type"] == PROBLEM, label
    problem: dict[str, Any] = json.loads(body)
    assert problem["status"] == status, label
    assert problem["correlation_id"] == response.headers["x-correlation-id"], label
    assert problem["type"].startswith("https://schemas.licence-bridge.ir/problems/"), label
    for leak in LEAKS:
        assert leak not in body, (label, leak)
    return problem


def _compact(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _swap(body: bytes, old: bytes, new: bytes) -> bytes:
    assert body.count(old) == 1, old
    return body.replace(old, new)


class Poster:
    """Posts signed bodies under fresh webhook ids (so idempotency never answers first)."""

    def __init__(self, bridge: Bridge) -> None:
        self.bridge, self.count = bridge, 0

    def __call__(self, body: bytes, **kwargs: Any) -> Any:
        self.count += 1
        kwargs.setdefault("webhook_id", f"msg_hostile_{self.count:05d}")
        return self.bridge.post(body, **kwargs)


# --------------------------------------------------------------------------- bodies


def test_json_that_is_not_an_object_is_422_at_the_root(bridge: Bridge) -> None:
    post = Poster(bridge)
    for body in (b"[]", b'"x"', b"1", b"null", b"true", b"{}"):
        problem = problem_of(post(body), 422, body.decode())
        pointers = {e["pointer"] for e in problem["errors"]}
        assert pointers == {""} if body != b"{}" else "/event_id" in pointers


def test_deep_nesting_is_a_400_or_a_422_never_a_500(bridge: Bridge) -> None:
    post = Poster(bridge)
    base = _compact(event("applied", 1))
    for depth in (10_000, 100_000):
        for opened, closed in ((b"[", b"]"), (b'{"a":', b"}")):
            body = opened * depth + (b"1" if opened != b"[" else b"") + closed * depth
            if len(body) > 256 * 1024:
                problem_of(post(body), 413, f"depth {depth}")
                continue
            problem = problem_of(post(body), 400, f"depth {depth}")
            assert "nested too deeply" in problem["detail"]
    for depth in (500, 900, 2_000):
        nested = b'{"a":' * depth + b"1" + b"}" * depth
        body = _swap(base, b'"menu_category":"coffee"', b'"menu_category":' + nested)
        response = post(body)
        assert response.status_code in (400, 422), depth
        problem_of(response, response.status_code, f"nested attribute {depth}")


@pytest.mark.parametrize(
    ("version", "status"),
    [
        ("1e999", 422),
        ("-1e999", 422),
        ("1" + "0" * 400, 422),
        ("9007199254740992", 422),  # 2^53: past the bound
        ("9" * 5000, 400),  # past the interpreter's digit limit: not a number we read
        ("-0", 422),
        ("0", 422),
        ("1e-999", 422),
        ("2.5", 422),
        ('"1"', 422),
        ('"۱"', 422),  # Persian digit: a string, not an integer
        ("null", 422),
        ("true", 422),
    ],
)
def test_odd_versions(bridge: Bridge, version: str, status: int) -> None:
    body = _swap(encode(event("applied", 1)), b'"version": 1,', f'"version": {version},'.encode())
    problem = problem_of(Poster(bridge)(body), status, version[:20])
    if status == 422:
        assert "/licence/version" in {e["pointer"] for e in problem["errors"]}
    else:
        assert "sys." not in problem["detail"]  # our words, not the interpreter's


def test_1e_plus_2_is_an_integer_version_as_json_schema_says(bridge: Bridge) -> None:
    # JSON Schema's "integer" is any number with a zero fraction: 1E+2 is version 100.
    body = _swap(encode(event("applied", 1)), b'"version": 1,', b'"version": 1E+2,')
    response = Poster(bridge)(body)
    assert response.status_code == 202
    assert json.loads(response.body)["version"] == 100


def test_numbers_past_what_we_can_store_or_forward_are_422(bridge: Bridge) -> None:
    post = Poster(bridge)
    base = encode(event("applied", 1))
    for value, pointer in (
        ("1e999", "/licence/fees/0/amount_rials"),
        ("9223372036854775808", "/licence/fees/0/amount_rials"),  # xsd:long max + 1
        ("-1e999", "/licence/fees/0/amount_rials"),
    ):
        body = _swap(base, b'"amount_rials": 18500000', f'"amount_rials": {value}'.encode())
        problem = problem_of(post(body), 422, value)
        assert pointer in {e["pointer"] for e in problem["errors"]}
    for value in ("1e999", "-1e999", "1" + "0" * 400):
        body = _swap(base, b'"lat": 35.586997', f'"lat": {value}'.encode())
        problem = problem_of(post(body), 422, value[:20])
        assert "/licence/location/coordinates/lat" in {e["pointer"] for e in problem["errors"]}
    body = _swap(base, b'"amount_rials": 18500000', b'"amount_rials": 9223372036854775807')
    assert post(body).status_code == 202  # the largest the portal takes


def test_bodies_that_are_not_json_we_can_keep_are_400_and_archived(bridge: Bridge) -> None:
    post = Poster(bridge)
    base = encode(event("applied", 1))
    name = "اميرمهدي".encode()
    cases = {
        "NaN": b'{"a": NaN}',
        "Infinity": b'{"a": -Infinity}',
        "duplicate key": _swap(base, b'"version": 1,', b'"version": 1, "version": 2,'),
        "invalid UTF-8": _swap(base, name, b"\xc3\x28\xff"),
        "overlong UTF-8": _swap(base, name, b"\xc0\xaf\xc0\x80"),
        "UTF-8 surrogate bytes": _swap(base, name, b"\xed\xa0\x80"),
        "UTF-16 with BOM": b"\xff\xfe" + json.dumps(event("applied", 1)).encode("utf-16-le"),
        "UTF-8 BOM": b"\xef\xbb\xbf" + base,
        "raw NUL": _swap(base, name, b"ab\x00cd"),
        "truncated": base[:-10],
        "two documents": base + base,
        "empty": b"",
        # the regressions: escapes that decode to text we cannot store or forward
        "lone high surrogate": _swap(base, name, b"\\ud800"),
        "lone low surrogate in a key": _swap(base, b'"menu_category"', b'"\\uDFFF"'),
        "surrogate in event_id": _swap(base, b'"evt_applied_0001_x"', b'"evt_\\ud800_0001"'),
        "escaped NUL": _swap(base, name, b"ab\\u0000cd"),
        "escaped NUL in licence_id": _swap(
            base, b'"TM-20-1403-000157"', b'"TM-20-1403-000157\\u0000"'
        ),
        "escaped BEL": _swap(base, name, b"ab\\u0007"),
        "escaped U+FFFF": _swap(base, name, b"ab\\uffff"),
        "raw U+FFFE": _swap(base, name, "ab\ufffe".encode()),
    }
    for label, body in cases.items():
        problem = problem_of(post(body), 400, label)
        assert problem["type"].endswith("/bad-request"), label
        assert "\\ud800" not in problem["detail"].lower() or "pointer" not in problem
    located = problem_of(post(_swap(base, name, b"ab\\u0000cd")), 400)
    assert "/licence/holder/first_name" in located["detail"]
    # Authenticated, so every one of them is kept byte for byte (the 401s below are not).
    archived = {a["Body"].read() for a in bridge.archived()}
    assert set(cases.values()) <= archived


def test_valid_surrogate_pairs_tabs_and_newlines_are_still_text(bridge: Bridge) -> None:
    document = event("applied", 1)
    document["licence"]["business"]["activity"] = "قهوه\tو\nچای ☕ \U0001f600"
    body = encode(document).replace("\U0001f600".encode(), b"\\ud83d\\ude00")
    assert Poster(bridge)(body).status_code == 202


def test_size_limit_is_exact(bridge: Bridge) -> None:
    post = Poster(bridge)
    base = _compact(event("applied", 1))
    exact = base[:-1] + b" " * (256 * 1024 - len(base)) + b"}"
    assert len(exact) == 256 * 1024
    assert post(exact).status_code == 202
    problem_of(post(exact + b" "), 413)
    document = event("applied", 1)
    document["licence"]["fees"] = [{"kind": "other", "amount_rials": 1}] * 10_000
    problem_of(post(_compact(document)), 413, "10,000 fees")
    document["licence"]["fees"] = [{"kind": "other", "amount_rials": 1}] * 1_000
    assert post(_compact(document)).status_code in (202, 422)
    document = event("applied", 1)
    document["licence"]["business"]["name"] = "a" * (1024 * 1024)
    problem_of(post(_compact(document)), 413, "1 MB string")
    document["licence"]["business"]["name"] = "a" * (200 * 1024)
    problem = problem_of(post(_compact(document)), 422, "200 KB name")
    assert "/licence/business/name" in {e["pointer"] for e in problem["errors"]}


def test_media_types(bridge: Bridge) -> None:
    post = Poster(bridge)
    body = encode(event("applied", 1))
    for content_type in (
        "application/JSON; charset=UTF-8",
        "APPLICATION/JSON",
        " application/json",
    ):
        assert post(body, content_type=content_type).status_code == 202, content_type
    for content_type in (
        "application/json-patch+json",
        "application/problem+json",
        "text/plain",
        "text/json",
        "",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencoded",
    ):
        problem_of(post(body, content_type=content_type), 415, content_type)
    headers = signed_headers(body, webhook_id="msg_no_type")
    del headers["content-type"]
    problem_of(post(body, headers=headers), 415)


def test_wrong_types_everywhere_in_the_licence_are_422_with_their_pointer(
    bridge: Bridge,
) -> None:
    post = Poster(bridge)
    bad_values: list[Any] = [[], "x", 1, None, True, {}, 1.5, ["FOOD_TRUCK"]]
    licence_keys = (
        "licence_id",
        "tracking_code",
        "licence_type",
        "status",
        "activity",
        "issuing",
        "holder",
        "business",
        "location",
        "fees",
        "steps",
        "attributes",
        "validity",
        "attachments",
    )
    cases: list[tuple[str, Any, str]] = []
    for key in licence_keys:
        cases += [
            (f"/licence/{key}", value, f"/licence/{key}")
            for value in bad_values
            # an empty list of fees or attachments is a licence without any
            if not (value == [] and key in ("fees", "attachments"))
        ]
    for key in ("event_id", "event_type", "occurred_at", "source", "licence"):
        cases += [(f"/{key}", value, f"/{key}") for value in [[], 1, None, {}, "", ["x"]]]
    for key in ("national_id", "mobile", "first_name", "kind", "birth_date"):
        cases += [
            (f"/licence/holder/{key}", v, f"/licence/holder/{key}")
            for v in [[], 12345678901, None, {}, 1.5, True]
        ]
    for value in [0, 23, -1, "20", "۲۰", 1.5, None, [20]]:
        cases.append(("/licence/issuing/district", value, "/licence/issuing/district"))
    cases += [
        ("/licence/licence_type", "NUCLEAR_PLANT", "/licence/licence_type"),
        ("/licence/licence_type", "food_truck", "/licence/licence_type"),
        ("/event_type", "licence.exploded", "/event_type"),
        ("/event_type", "licence.", "/event_type"),
        ("/licence/licence_id", "TM-20-1403-000157'; DROP TABLE--", "/licence/licence_id"),
        ("/licence/licence_id", "../../TM-20-1403-000157", "/licence/licence_id"),
        ("/licence/licence_id", "TM-20-1403-000157\u200f<script>", "/licence/licence_id"),
        ("/licence/fees", [{"kind": "other", "amount_rials": "1"}], "/licence/fees/0/amount_rials"),
        ("/licence/fees", [{"kind": "other", "amount_rials": 1.5}], "/licence/fees/0/amount_rials"),
        ("/licence/fees", [{"kind": "bribe", "amount_rials": 1}], "/licence/fees/0/kind"),
        ("/licence/steps", {"done": "1", "total": 2}, "/licence/steps/done"),
        ("/licence/steps", {"done": 3, "total": 2}, "/licence/steps/done"),
    ]
    for path, value, pointer in cases:
        document = event("applied", 1)
        parent: Any = document
        *parents, last = path.strip("/").split("/")
        for part in parents:
            parent = parent[part]
        parent[last] = value
        problem = problem_of(post(encode(document)), 422, f"{path}={value!r}")
        pointers = {e["pointer"] for e in problem["errors"]}
        assert any(p == pointer or p.startswith(pointer + "/") for p in pointers) or (
            # a type that cannot be read names its parent (`required` at the licence)
            pointer.rsplit("/", 1)[0] in pointers
        ), (path, value, pointers)


# --------------------------------------------------------------------------- headers


def test_webhook_headers_of_every_odd_shape_are_401(bridge: Bridge) -> None:
    post = Poster(bridge)
    body = encode(event("applied", 1))
    for webhook_id in ("a" * 129, "a" * 8000, "ید_۱۲۳۴۵۶۷", "../../etc", "msg 001", "msg/001"):
        problem_of(post(body, headers=signed_headers(body, webhook_id=webhook_id)), 401)
    for webhook_id in ("-msg", "msg%2F..", "msg\t1", "msg;rm"):
        problem_of(post(body, headers=signed_headers(body, webhook_id=webhook_id)), 401)
    now = int(time.time())
    for stamp in (
        "abc",
        "-5",
        "1.5e9",
        f"{now}.0",
        str(now + 10**6),
        "9" * 20,
        "",
        f" {now}",
        "۱۲۳",
        str(now - 301),
        str(now + 301),
        "0x10",
    ):
        headers = signed_headers(body, webhook_id="msg_stamp") | {"webhook-timestamp": stamp}
        problem_of(post(body, headers=headers), 401, stamp)
    good = signed_headers(body, webhook_id="msg_sig")
    for signature in (
        " ".join(["v1,AAAA"] * 10_000),
        "v2,",
        "",
        "v1,",
        "v1," + "A" * 100_000,
        good["webhook-signature"].replace("v1,", "v1a,"),
        "v1,@@@@",
        good["webhook-signature"].replace("v1,", "V1,"),
    ):
        problem_of(post(body, headers=good | {"webhook-signature": signature}), 401)
    for name in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        headers = dict(good)
        del headers[name]
        problem_of(post(body, headers=headers), 401, name)
    # A good signature among many bad ones still counts (rotation sends several).
    many = " ".join(["v1,AAAA"] * 1_000 + [good["webhook-signature"]])
    assert post(body, headers=good | {"webhook-signature": many}).status_code == 202
    assert all(a["Metadata"].get("webhook-id") != "../../etc" for a in bridge.archived())


def test_unknown_and_tricky_source_names_are_401_and_never_archived(bridge: Bridge) -> None:
    post = Poster(bridge)
    body = encode(event("applied", 1))
    for source in (
        "..%2Fconsumers",
        "%2e%2e",
        "a" * 1000,
        "دیستریکت",
        "DISTRICT-20",
        "district-99",
        "district-20%00",
        "consumers",
        "feed-cursor-key",
        "sources",
        "portal",
    ):
        problem_of(post(body, source=source), 401, source)
    assert bridge.archived() == []


# --------------------------------------------------------------------------- reading routes


def test_feed_query_strings(bridge: Bridge) -> None:
    assert Poster(bridge)(encode(event("applied", 1))).status_code == 202
    bad = [
        "limit=abc",
        "limit=-1",
        "limit=0",
        "limit=501",
        "limit=1e2",
        "limit=1.0",
        "limit=%C2%B2",  # "²": a digit to str.isdigit, not to int()
        "limit=" + "1" * 5000,
        "limit=" + "9" * 30,
        "after=garbage",
        "after=",
        "after=%00",
        "after=" + "A" * 10_000,
        "after=eyJhIjoxfQ.AAAA",
        "types=NOPE",
        "types=FOOD_TRUCK&types=NOPE",
        "types=food_truck",
        "districts=99",
        "districts=0",
        "districts=abc",
        "districts=-1",
        "districts=1e1",
        "districts=%C2%B2",
        "districts=" + "1" * 5000,
    ]
    for query in bad:
        problem = problem_of(bridge.get(f"/v1/feeds/licences?{query}", FEED_TOKEN), 400, query)
        assert problem["type"].endswith("/bad-request")
    for query in ("limit=۱۰", "districts=۵", "districts=05", "types=", "limit=500"):
        response = bridge.get(f"/v1/feeds/licences?{query}", FEED_TOKEN)
        assert response.status_code == 200, query


def test_bearer_tokens(bridge: Bridge) -> None:
    for path in ("/v1/licences/TM-20-1403-000157", "/v1/feeds/licences"):
        for authorization in (
            "",
            "Bearer",
            "Bearer ",
            "Bearer " + "x" * 10_000,
            "Bearer lb_wrong",
            "Basic dXNlcjpwYXNz",
            "Token " + READ_TOKEN,
            "Bearer  " + READ_TOKEN + " extra",
            READ_TOKEN,
        ):
            headers = {"authorization": authorization} if authorization else {}
            response = bridge.client.http.get(path, headers=headers)
            response.headers = {k.lower(): v for k, v in response.headers.items()}
            problem = problem_of(response, 401, f"{path} {authorization[:20]!r}")
            assert response.headers["www-authenticate"].startswith("Bearer")
            assert READ_TOKEN not in json.dumps(problem)
    problem_of(bridge.get("/v1/licences/TM-20-1403-000157", FEED_TOKEN), 403)


def test_ids_and_tracking_codes_that_cannot_exist_are_404(bridge: Bridge) -> None:
    for licence_id in ("TM-20-1403-000157'--", "%00", "x" * 5000, "TM-20-1403-000157%0A", "۱۲"):
        problem_of(bridge.get(f"/v1/licences/{licence_id}"), 404, licence_id[:20])
        problem_of(bridge.get(f"/v1/licences/{licence_id}/history"), 404, licence_id[:20])
    for code in ("abc", "123", "12345678901", "1030945292%00", "x" * 5000, "-1", "۱۰۳۰۹۴۵۲۹۲"):
        problem_of(bridge.get(f"/v1/track/{code}", token=None), 404, code[:20])
    for name in ("NOPE", "food_truck", "x" * 3000, "%2e%2e", "defs.json"):
        problem_of(bridge.get(f"/v1/schemas/{name}", token=None), 404, name[:20])


def test_unsupported_methods_are_405_problems(bridge: Bridge) -> None:
    routes = (
        "/v1/webhooks/district-20",
        "/v1/licences/TM-20-1403-000157",
        "/v1/licences/TM-20-1403-000157/history",
        "/v1/feeds/licences",
        "/v1/schemas",
        "/v1/schemas/FOOD_TRUCK",
        "/v1/track/1030945292",
    )
    for path in routes:
        allowed = "POST" if "webhooks" in path else "GET"
        for method in {"GET", "POST", "PUT", "DELETE", "PATCH"} - {allowed}:
            response = bridge.client.http.request(method, path, headers={}, body=b"")
            response.headers = {k.lower(): v for k, v in response.headers.items()}
            problem_of(response, 405, f"{method} {path}")


def test_unknown_routes_are_problems_at_api_gateway() -> None:
    # API Gateway answers a path with no route itself (403 "Missing Authentication Token"),
    # before any code of ours runs, and so does Chalice's local gateway, which the test
    # client emulates: the problem+json shape for those comes from the gateway responses.
    # A SafeLoader subclass that reads CloudFormation's !Ref tags as None.
    text = (ROOT / "infra" / "app-extras.yaml").read_text()
    template = yaml.load(text, Loader=_CfnLoader)  # noqa: S506
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in template["Resources"].values()
        if r.get("Type") == "AWS::ApiGateway::GatewayResponse"
    }
    assert responses.keys() >= {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    assert responses["MISSING_AUTHENTICATION_TOKEN"]["StatusCode"] == "404"
    for properties in responses.values():
        headers = properties["ResponseParameters"]
        assert headers["gatewayresponse.header.Content-Type"] == f"'{PROBLEM}'"
        assert headers["gatewayresponse.header.X-Correlation-Id"] == "context.requestId"
        assert '"correlation_id":"$context.requestId"' in properties["ResponseTemplates"][
            "application/json"
        ].replace(" ", "")


class _CfnLoader(yaml.SafeLoader):
    pass


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


# --------------------------------------------------------------------------- logs


def test_logs_never_hold_a_national_id_a_phone_or_a_secret(
    bridge: Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    post = Poster(bridge)
    base = encode(event("applied", 1))
    national_id_in_a_bad_place = event("applied", 1)
    national_id_in_a_bad_place["event_id"] = HOLDER_NATIONAL_ID  # a valid event id, 10 digits
    national_id_in_a_bad_place["licence"]["licence_type"] = [HOLDER_NATIONAL_ID]
    bodies = [
        base,
        _swap(base, b'"version": 1,', b'"version": 1e999,'),
        _swap(base, "اميرمهدي".encode(), b"\\ud800"),
        encode(national_id_in_a_bad_place),
        b'{"holder": {"national_id": "' + HOLDER_NATIONAL_ID.encode() + b'"}, "x": NaN}',
    ]
    for body in bodies:
        post(body)
    # secrets in headers of a failed authentication
    post(base, headers={"content-type": "application/json", "webhook-id": SECRET_A})
    post(base, headers=signed_headers(base) | {"webhook-signature": f"v1,{SECRET_A}"})
    bridge.get("/v1/licences/TM-20-1403-000157", token=SECRET_A)
    out = capsys.readouterr().out
    assert out, "the requests were logged"
    for secret in (HOLDER_NATIONAL_ID, "09396879268", "9396879268", SECRET_A[6:], READ_TOKEN):
        assert secret not in out, secret
    assert '"status": 500' not in out and "ServerErrors" not in out


def test_hostile_file_runs_alone_fast() -> None:
    # Guard against this file growing slow: it is meant to run in the normal suite.
    assert Path(__file__).stat().st_size < 64 * 1024


def test_made_up_source_names_cannot_grow_the_secrets_cache(aws: dict[str, str]) -> None:
    from chalicelib import wiring
    from chalicelib.secrets import SecretStore

    store = SecretStore(wiring.client("secretsmanager"), "licence-bridge/test", max_entries=8)
    for n in range(50):
        assert store.get_text(f"sources/made-up-{n}") is None
    assert len(store._cache) == 8
    assert "licence-bridge/test/sources/made-up-49" in store._cache
