"""The reading routes: bearer tokens, the sync status shown, and public tracking."""

from __future__ import annotations

import json

from chalicelib import wiring
from tests.ingest.conftest import FEED_TOKEN, Bridge
from tests.ingest.payloads import HOLDER_MOBILE, HOLDER_NATIONAL_ID, encode, event

LICENCE = "TM-20-1403-000157"


def _sync_fields(bridge: Bridge, **values: object) -> None:
    """Set sync fields as the sync worker would."""
    from chalicelib.store import to_item

    names = {f"#{k}": k for k in values}
    wiring.client("dynamodb").update_item(
        TableName=bridge.outputs["LicencesTable"],
        Key={"pk": {"S": f"LIC#{LICENCE}"}, "sk": {"S": "STATE"}},
        UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in values),
        ExpressionAttributeNames=names,
        ExpressionAttributeValues=to_item({f":{k}": v for k, v in values.items()}),
    )


def test_licence_routes_need_a_token_with_the_read_scope(bridge: Bridge) -> None:
    bridge.post(encode(event("applied", 1)), webhook_id="m1")
    for token, status in [(None, 401), ("lb_not_a_token", 401), (FEED_TOKEN, 403)]:
        for path in (f"/v1/licences/{LICENCE}", f"/v1/licences/{LICENCE}/history"):
            response = bridge.get(path, token=token)
            assert response.status_code == status
            assert response.headers["content-type"] == "application/problem+json"
    missing = bridge.client.http.get(
        f"/v1/licences/{LICENCE}", headers={"authorization": "Basic abc"}
    )
    assert missing.status_code == 401
    assert bridge.get("/v1/licences/TM-20-1403-999999").status_code == 404
    assert bridge.get("/v1/licences/not-an-id").status_code == 404


def test_a_licence_shows_its_state_and_each_sync_status(bridge: Bridge) -> None:
    bridge.post(encode(event("applied", 1)), webhook_id="m1")
    body = json.loads(bridge.get(f"/v1/licences/{LICENCE}").body)
    assert (body["status"], body["version"], body["sync"]) == ("applied", 1, {"status": "queued"})
    assert body["licence"]["fees"] == [{"kind": "issuance", "amount_rials": 18500000}]
    assert "\u200c" in body["licence"]["business"]["name"]

    _sync_fields(bridge, sync_status="synced", portal_licence_id="P-778899", synced_version=1)
    sync = json.loads(bridge.get(f"/v1/licences/{LICENCE}").body)["sync"]
    assert sync == {"status": "synced", "portal_licence_id": "P-778899", "synced_version": 1}

    _sync_fields(bridge, sync_status="retrying", sync_error="portal timeout after 10 s")
    sync = json.loads(bridge.get(f"/v1/licences/{LICENCE}").body)["sync"]
    assert (sync["status"], sync["error"]) == ("retrying", "portal timeout after 10 s")

    reasons = [{"code": "E104", "message": "کد آیسیک نامعتبر"}]
    _sync_fields(bridge, sync_status="rejected", sync_reasons=reasons)
    sync = json.loads(bridge.get(f"/v1/licences/{LICENCE}").body)["sync"]
    assert (sync["status"], sync["reasons"]) == ("rejected", reasons)

    _sync_fields(bridge, sync_status="dead_lettered")
    assert json.loads(bridge.get(f"/v1/licences/{LICENCE}").body)["sync"]["status"] == (
        "dead_lettered"
    )


def test_history_lists_every_event_in_order(bridge: Bridge) -> None:
    bridge.post(encode(event("applied", 1)), webhook_id="m1")
    bridge.post(encode(event("review_started", 3)), webhook_id="m3")
    bridge.post(encode(event("review_started", 2)), webhook_id="m2")
    body = json.loads(bridge.get(f"/v1/licences/{LICENCE}/history").body)
    assert [(e["webhook_id"], e["version"], e["applied"]) for e in body["events"]] == [
        ("m1", 1, True),
        ("m3", 3, True),
        ("m2", 2, False),
    ]
    assert body["events"][2]["reason"] == "version 2 is not newer than the stored version 3"


def test_tracking_is_public_has_no_personal_data_and_is_rate_limited(bridge: Bridge) -> None:
    bridge.post(encode(event("applied", 1)), webhook_id="m1")
    response = bridge.get("/v1/track/1030945292", token=None)
    assert response.status_code == 200
    body = json.loads(response.body)
    assert body == {
        "tracking_code": "1030945292",
        "licence_type": "FOOD_TRUCK",
        "licence_type_title_fa": body["licence_type_title_fa"],
        "status": "applied",
        "stage": "بررسی مدارک",
        "steps": {"done": 1, "total": 12},
        "updated_at": "2025-01-11T10:00:00+03:30",
        "sync": {"status": "queued"},
    }
    text = response.body.decode()
    for private in (HOLDER_NATIONAL_ID, HOLDER_MOBILE, "امیرمهدی", "بیدکی", LICENCE):
        assert private not in text
    assert bridge.get("/v1/track/0000000000", token=None).status_code == 404
    assert bridge.get("/v1/track/abc", token=None).status_code == 404

    statuses = [bridge.get("/v1/track/1030945292", token=None).status_code for _ in range(20)]
    assert statuses.count(429) >= 1 and statuses[0] == 200
    limited = bridge.get("/v1/track/1030945292", token=None)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert json.loads(limited.body)["type"].endswith("/rate-limited")
