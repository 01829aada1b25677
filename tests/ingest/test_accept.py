"""An accepted webhook: what is answered, stored, archived, queued and appended to the feed."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.ingest.conftest import SECRET_B, Bridge, signed_headers
from tests.ingest.payloads import (
    APPLICATION,
    HOLDER_MOBILE,
    HOLDER_NATIONAL_ID,
    encode,
    event,
    example,
    example_bytes,
)

ZWNJ = "\u200c"


def test_an_application_is_accepted_stored_queued_archived_and_fed(bridge: Bridge) -> None:
    body = example_bytes(APPLICATION)
    response = bridge.post(body, webhook_id="msg_accept_1")

    assert response.status_code == 202
    assert response.headers["content-type"].startswith("application/json")
    assert json.loads(response.body) == {
        "event_id": "evt_20140379258101",
        "licence_id": "TM-20-1403-000157",
        "tracking_code": "1030945292",
        "version": 1,
        "applied": True,
        "sync": "queued",
    }
    assert len(response.headers["x-correlation-id"]) >= 8

    state = bridge.state("TM-20-1403-000157")
    assert state is not None
    assert (state["status"], state["version"], state["sync_status"]) == ("applied", 1, "queued")
    assert (state["licence_type"], state["district"], state["tracking_code"]) == (
        "FOOD_TRUCK",
        "20",
        "1030945292",
    )
    assert "outbox_at" not in state and "outbox_pk" not in state  # sent, so cleared
    licence = state["licence"]
    # Normalised (Persian digits, Arabic yeh), Jalali converted, ZWNJ kept, amounts exact.
    assert licence["holder"]["national_id"] == HOLDER_NATIONAL_ID
    assert licence["holder"]["mobile"] == HOLDER_MOBILE
    assert licence["holder"]["first_name"] == "امیرمهدی"
    assert licence["holder"]["birth_date"] == "1989-08-05"
    assert ZWNJ in licence["business"]["name"]
    assert licence["business"]["name"] == example(APPLICATION)["licence"]["business"]["name"]
    assert licence["fees"] == [{"kind": "issuance", "amount_rials": Decimal(18500000)}]

    [entry] = bridge.history("TM-20-1403-000157")
    assert entry["applied"] is True
    assert (entry["event_type"], entry["status_before"], entry["status_after"]) == (
        "licence.applied",
        None,
        "applied",
    )
    assert entry["webhook_id"] == "msg_accept_1"

    assert bridge.messages() == [{"licence_id": "TM-20-1403-000157", "version": 1}]

    [feed] = bridge.feed_entries()
    assert (feed["licence_id"], feed["event_type"], feed["status"], feed["district"]) == (
        "TM-20-1403-000157",
        "licence.applied",
        "applied",
        "20",
    )

    [archived] = bridge.archived()
    assert archived["Body"].read() == body
    assert archived["Key"].startswith("raw/")
    assert "/district-20/msg_accept_1/" in archived["Key"]
    assert archived["Metadata"]["webhook-id"] == "msg_accept_1"
    assert archived["Metadata"]["content-type"] == "application/json"
    assert archived["ServerSideEncryption"] == "aws:kms"


def test_bundled_examples_start_a_licence_only_with_applied_or_issued(bridge: Bridge) -> None:
    # Each example is the first event we see for its licence: an application or a legacy
    # licence's issue starts one; any later event needs the licence to exist (409).
    from chalicelib import wiring
    from tests.ingest.conftest import SECRET_A
    from tests.ingest.payloads import EXAMPLES

    paths = sorted(EXAMPLES.glob("*/valid-*.json"))
    documents = {p: json.loads(p.read_bytes()) for p in paths}
    sm = wiring.client("secretsmanager")
    prefix = bridge.outputs["SecretsPrefix"]
    for source in {d["source"] for d in documents.values()} - {"district-20"}:
        sm.create_secret(
            Name=f"{prefix}/sources/{source}-all",
            SecretString=json.dumps(
                {"secrets": [SECRET_A], "licence_types": ["*"], "districts": ["*"]}
            ),
        )
    answered: dict[str, int] = {}
    for number, (path, original) in enumerate(documents.items()):
        source = original["source"]
        body = path.read_bytes()
        if source != "district-20":  # the example's own source, registered for everything
            source = f"{source}-all"
            body = encode({**original, "source": source})
        response = bridge.post(body, source=source, webhook_id=f"msg_all_{number}")
        kind = original["event_type"]
        answered[kind] = max(answered.get(kind, 0), response.status_code)
        if response.status_code == 409:
            assert "needs an existing licence" in json.loads(response.body)["detail"]
    assert answered.pop("licence.applied") == 202
    assert answered.pop("licence.issued") == 202
    assert set(answered.values()) == {409}
    assert len(answered) >= 8


def test_a_charset_and_any_case_of_application_json_is_accepted(bridge: Bridge) -> None:
    body = encode(event("applied", 1))
    response = bridge.post(
        body, webhook_id="msg_ct", content_type="Application/JSON; Charset=UTF-8"
    )
    assert response.status_code == 202


def test_the_next_secret_of_a_rotation_is_accepted_too(bridge: Bridge) -> None:
    body = encode(event("applied", 1))
    assert bridge.post(body, webhook_id="msg_rot_b", secret=SECRET_B).status_code == 202
    headers = signed_headers(body, webhook_id="msg_rot_ab", secret=SECRET_B)
    assert headers["webhook-signature"].startswith("v1,")
