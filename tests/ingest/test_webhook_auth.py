"""Standard Webhooks: the public test vector, rotation, the window, and one 401 for all."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import standardwebhooks.webhooks as library
from standardwebhooks.webhooks import Webhook

from chalicelib.webhook_auth import TOLERANCE_SECONDS, WebhookAuthError, verify
from tests.ingest.conftest import SECRET_A, SECRET_B, SECRET_OTHER, Bridge, signed_headers
from tests.ingest.payloads import encode, event, example_bytes

# The vector published with the Standard Webhooks libraries' tests.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_PAYLOAD = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
VECTOR_HEADERS = {
    "webhook-id": VECTOR_ID,
    "webhook-timestamp": str(VECTOR_TS),
    "webhook-signature": VECTOR_SIGNATURE,
}


def test_the_library_signs_and_verifies_the_public_vector(monkeypatch: pytest.MonkeyPatch) -> None:
    signed_at = datetime.fromtimestamp(VECTOR_TS, tz=UTC)
    assert Webhook(VECTOR_SECRET).sign(VECTOR_ID, signed_at, VECTOR_PAYLOAD) == VECTOR_SIGNATURE

    class AtVectorTime(datetime):
        @classmethod
        def now(cls, tz: object = None) -> AtVectorTime:  # type: ignore[override]
            return cls.fromtimestamp(VECTOR_TS + 10, tz=UTC)

    # The library reads the wall clock; put it at the vector's time for its own check.
    monkeypatch.setattr(library, "datetime", AtVectorTime)
    assert Webhook(VECTOR_SECRET).verify(VECTOR_PAYLOAD, VECTOR_HEADERS) == {"test": 2432232314}


def test_our_verifier_agrees_with_the_vector() -> None:
    verified = verify(VECTOR_PAYLOAD, VECTOR_HEADERS, [VECTOR_SECRET], now=lambda: VECTOR_TS + 10)
    assert (verified.webhook_id, verified.timestamp) == (VECTOR_ID, VECTOR_TS)
    # One byte different, or another secret: refused.
    with pytest.raises(WebhookAuthError):
        verify(b'{"test": 2432232315}', VECTOR_HEADERS, [VECTOR_SECRET], now=lambda: VECTOR_TS)
    with pytest.raises(WebhookAuthError):
        verify(VECTOR_PAYLOAD, VECTOR_HEADERS, [SECRET_A], now=lambda: VECTOR_TS)


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (TOLERANCE_SECONDS, True), (-TOLERANCE_SECONDS, True), (301, False), (-301, False)],
)
def test_the_window_is_five_minutes_either_way(offset: int, ok: bool) -> None:
    def now() -> float:
        return VECTOR_TS + offset

    if ok:
        verify(VECTOR_PAYLOAD, VECTOR_HEADERS, [VECTOR_SECRET], now=now)
    else:
        with pytest.raises(WebhookAuthError, match="tolerance"):
            verify(VECTOR_PAYLOAD, VECTOR_HEADERS, [VECTOR_SECRET], now=now)


def test_several_signatures_only_v1_and_several_secrets() -> None:
    def at() -> float:
        return VECTOR_TS

    good = VECTOR_SIGNATURE
    bogus = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
    several = {**VECTOR_HEADERS, "webhook-signature": f"{bogus} v1a,xyz {good}"}
    verify(VECTOR_PAYLOAD, several, [VECTOR_SECRET], now=at)
    # The same signature under another scheme name is not considered.
    v2 = {**VECTOR_HEADERS, "webhook-signature": good.replace("v1,", "v2,")}
    with pytest.raises(WebhookAuthError):
        verify(VECTOR_PAYLOAD, v2, [VECTOR_SECRET], now=at)
    # Rotation: the matching secret may be any of the live ones; a broken one is skipped.
    verify(VECTOR_PAYLOAD, VECTOR_HEADERS, ["whsec_!!", SECRET_A, VECTOR_SECRET], now=at)


@pytest.mark.parametrize(
    "change",
    [
        {"webhook-id": None},
        {"webhook-timestamp": None},
        {"webhook-signature": None},
        {"webhook-timestamp": "1614265330.0"},
        {"webhook-timestamp": " 1614265330"},
        {"webhook-id": "../../etc"},
    ],
)
def test_missing_or_malformed_headers_are_refused(change: dict[str, str | None]) -> None:
    headers = {k: v for k, v in {**VECTOR_HEADERS, **change}.items() if v is not None}
    with pytest.raises(WebhookAuthError):
        verify(VECTOR_PAYLOAD, headers, [VECTOR_SECRET], now=lambda: VECTOR_TS)


# --- through the API --------------------------------------------------------------------


def _unauthenticated_bodies(bridge: Bridge) -> list[dict[str, object]]:
    body = encode(event("applied", 1))
    now = int(datetime.now(UTC).timestamp())
    tampered = signed_headers(body, webhook_id="msg_t")
    tampered["webhook-signature"] = signed_headers(b"{}", webhook_id="msg_t")["webhook-signature"]
    no_signature = signed_headers(body, webhook_id="msg_n")
    del no_signature["webhook-signature"]
    attempts = [
        bridge.post(body, source="district-99", webhook_id="msg_u"),  # unknown source
        bridge.post(body, headers=no_signature),
        bridge.post(body, headers=tampered),
        bridge.post(body, webhook_id="msg_o", timestamp=now - 6 * 60),  # replayed, too old
        bridge.post(body, webhook_id="msg_f", timestamp=now + 6 * 60),  # too far ahead
        bridge.post(body, webhook_id="msg_w", secret=SECRET_OTHER),  # another source's secret
    ]
    out = []
    for response in attempts:
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        problem = json.loads(response.body)
        out.append({k: v for k, v in problem.items() if k not in ("instance", "correlation_id")})
    return out


def test_every_authentication_failure_is_the_same_401(bridge: Bridge) -> None:
    bodies = _unauthenticated_bodies(bridge)
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0] == {
        "type": "https://schemas.licence-bridge.ir/problems/unauthenticated",
        "title": "Unauthorised",
        "status": 401,
        "detail": "The request could not be authenticated.",
    }
    assert bridge.archived() == []  # nothing unauthenticated is kept
    assert bridge.state("TM-20-1403-000157") is None


def test_both_live_secrets_of_a_source_are_accepted(bridge: Bridge) -> None:
    first = bridge.post(encode(event("applied", 1)), webhook_id="msg_rot_a", secret=SECRET_A)
    second = bridge.post(
        encode(event("review_started", 2)), webhook_id="msg_rot_b", secret=SECRET_B
    )
    assert (first.status_code, second.status_code) == (202, 202)


def test_a_persian_body_is_verified_over_its_exact_bytes(bridge: Bridge) -> None:
    original = example_bytes("FOOD_TRUCK/valid-2.json")
    assert "\u200c".encode() in original and "ي".encode() in original
    headers = signed_headers(original, webhook_id="msg_fa")
    # The same JSON, re-serialised (escaped non-ASCII, compact): same meaning, other bytes.
    reserialised = json.dumps(json.loads(original), separators=(",", ":")).encode()
    assert json.loads(reserialised) == json.loads(original)
    assert bridge.post(reserialised, headers=headers).status_code == 401
    assert bridge.post(original, headers=headers).status_code == 202
