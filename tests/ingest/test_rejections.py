"""Each way a webhook is turned away, with a real request, in the one problem+json shape."""

from __future__ import annotations

import json
from typing import Any

from tests.ingest.conftest import SECRET_OTHER, Bridge, signed_headers
from tests.ingest.payloads import EXAMPLES, encode, event, example

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "correlation_id"}


def problem_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = json.loads(response.body)
    assert problem.keys() >= PROBLEM_KEYS
    assert problem["status"] == status
    assert problem["correlation_id"] == response.headers["x-correlation-id"]
    assert "Traceback" not in response.body.decode() and "Error" not in problem["detail"]
    return problem


def test_a_body_over_256_kb_is_413(bridge: Bridge) -> None:
    document = event("applied", 1)
    document["licence"]["business"]["activity"] = "ا" * (130 * 1024)  # 2 bytes each in UTF-8
    body = encode(document)
    assert len(body) > 256 * 1024
    problem = problem_of(bridge.post(body, webhook_id="msg_big"), 413)
    assert problem["instance"] == "/v1/webhooks/district-20"


def test_a_body_that_is_not_json_by_its_media_type_is_415(bridge: Bridge) -> None:
    body = encode(event("applied", 1))
    problem_of(bridge.post(body, webhook_id="msg_txt", content_type="text/plain"), 415)
    headers = signed_headers(body, webhook_id="msg_none")
    del headers["content-type"]
    problem_of(bridge.post(body, headers=headers), 415)


def test_malformed_json_is_400_and_still_archived(bridge: Bridge) -> None:
    for number, body in enumerate(
        [b'{"event_id": ', b'{"a": 1, "a": 2}', b'{"a": NaN}', "\ufeff{}".encode(), b"\xff{}"]
    ):
        problem = problem_of(bridge.post(body, webhook_id=f"msg_bad_{number}"), 400)
        assert problem["type"].endswith("/bad-request")
    archived = bridge.archived()
    assert len(archived) == 5
    assert {a["Body"].read() for a in archived} >= {b'{"a": 1, "a": 2}', b"\xff{}"}


def test_an_invalid_event_is_422_listing_every_issue_with_masked_values(bridge: Bridge) -> None:
    path = EXAMPLES / "FOOD_TRUCK" / "invalid-several-defects.json"
    document = json.loads(path.read_bytes())
    expected = json.loads(path.with_name("invalid-several-defects.expect.json").read_text())
    document["source"] = "district-20"  # a source registered for everything
    problem = problem_of(bridge.post(encode(document), webhook_id="msg_422"), 422)
    assert sorted({e["pointer"] for e in problem["errors"]}) == expected["pointers"]
    for error in problem["errors"]:
        assert set(error) == {"pointer", "rule", "message", "message_fa", "value"}
        assert error["message_fa"]

    bad_id = example("FOOD_TRUCK/invalid-national-id-checksum.json")
    bad_id["source"] = "district-20"
    response = bridge.post(encode(bad_id), webhook_id="m_id")
    problem = problem_of(response, 422)
    [error] = problem["errors"]
    national_id = bad_id["licence"]["holder"]["national_id"]
    assert error["pointer"] == "/licence/holder/national_id"
    assert error["value"] != national_id and "*" in error["value"]
    assert national_id not in response.body.decode()


def test_lifecycle_consistency_is_422(bridge: Bridge) -> None:
    wrong_status = event("issued", 1, status="approved")
    problem = problem_of(bridge.post(encode(wrong_status), webhook_id="msg_st"), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/licence/status"]

    no_validity = event("issued", 1)
    del no_validity["licence"]["validity"]
    problem = problem_of(bridge.post(encode(no_validity), webhook_id="msg_val"), 422)
    assert [e["pointer"] for e in problem["errors"]] == ["/licence/validity"]

    steps = event("applied", 1)
    steps["licence"]["steps"] = {"done": 13, "total": 12}
    problem = problem_of(bridge.post(encode(steps), webhook_id="msg_steps"), 422)
    assert [(e["pointer"], e["value"]) for e in problem["errors"]] == [("/licence/steps/done", 13)]


def test_a_source_may_post_only_as_itself_and_what_it_is_registered_for(bridge: Bridge) -> None:
    # district-20's body posted (and correctly signed) by district-03.
    body = encode(event("applied", 1))
    problem = problem_of(
        bridge.post(body, source="district-03", webhook_id="msg_as", secret=SECRET_OTHER), 403
    )
    assert "source" in problem["detail"]
    # district-03 is registered for FOOD_TRUCK in district 3 only.
    document = event("applied", 1)
    document["source"] = "district-03"
    body = encode(document)  # issuing district 20
    problem_of(bridge.post(body, source="district-03", webhook_id="m_d", secret=SECRET_OTHER), 403)
    document["licence"]["issuing"]["district"] = 3
    ok = bridge.post(encode(document), source="district-03", webhook_id="m_ok", secret=SECRET_OTHER)
    assert ok.status_code == 202
    taxi = example("TAXI_DRIVER/valid-1.json")
    taxi["source"] = "district-03"
    taxi["licence"]["issuing"]["district"] = 3
    problem_of(
        bridge.post(encode(taxi), source="district-03", webhook_id="m_t", secret=SECRET_OTHER), 403
    )


def test_a_repeated_webhook_id_replays_its_answer_or_is_409(bridge: Bridge) -> None:
    body = encode(event("applied", 1))
    first = bridge.post(body, webhook_id="msg_dup")
    again = bridge.post(body, webhook_id="msg_dup")
    assert (first.status_code, again.status_code) == (202, 202)
    assert json.loads(again.body) == json.loads(first.body)
    assert again.headers["idempotent-replayed"] == "true"
    assert len(bridge.history("TM-20-1403-000157")) == 1
    assert len(bridge.messages()) == 1
    assert len(bridge.feed_entries()) == 1

    other = encode(event("review_started", 2))
    problem = problem_of(bridge.post(other, webhook_id="msg_dup"), 409)
    assert problem["type"].endswith("/idempotency-conflict")
    assert bridge.state("TM-20-1403-000157")["version"] == 1  # type: ignore[index]


def test_an_illegal_transition_at_a_newer_version_is_409_with_the_reason(bridge: Bridge) -> None:
    assert bridge.post(encode(event("applied", 1)), webhook_id="m1").status_code == 202
    problem = problem_of(bridge.post(encode(event("approved", 2)), webhook_id="m2"), 409)
    assert problem["type"].endswith("/illegal-transition")
    assert problem["detail"] == "licence.approved is not allowed when the licence is applied"
    assert problem["detail_fa"]
    assert bridge.post(encode(event("cancelled", 3)), webhook_id="m3").status_code == 202
    problem = problem_of(bridge.post(encode(event("review_started", 4)), webhook_id="m4"), 409)
    assert "final status" in problem["detail"]
    assert bridge.state("TM-20-1403-000157")["status"] == "cancelled"  # type: ignore[index]


def test_a_failure_of_ours_is_a_5xx_problem_not_an_acknowledgement(
    bridge: Bridge, monkeypatch: Any
) -> None:
    from chalicelib import wiring

    monkeypatch.setenv("ARCHIVE_BUCKET", "no-such-bucket-licence-bridge")
    wiring.reset()
    problem = problem_of(bridge.post(encode(event("applied", 1)), webhook_id="msg_5xx"), 503)
    assert problem["detail"].endswith("please retry.")
    assert bridge.state("TM-20-1403-000157") is None
    monkeypatch.setenv("ARCHIVE_BUCKET", bridge.outputs["ArchiveBucket"])
    wiring.reset()
    assert bridge.post(encode(event("applied", 1)), webhook_id="msg_5xx").status_code == 202


def test_errors_chalice_answers_itself_are_problems_too(bridge: Bridge) -> None:
    response = bridge.client.http.request("PUT", "/v1/webhooks/district-20", body=b"{}")
    assert response.status_code == 405
    headers = {k.lower(): v for k, v in response.headers.items()}
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(response.body)["type"].endswith("/method-not-allowed")
