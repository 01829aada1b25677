"""Signed cursors: round trip, forgery, and binding to one filter and one consumer."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.cursors import CursorCodec, CursorError

CODEC = CursorCodec(b"k" * 64)
FILTER = "types=FOOD_TRUCK;districts="


def test_round_trip() -> None:
    cursor = CODEC.encode(12345, FILTER, "portal")
    assert CODEC.decode(cursor, FILTER, "portal") == 12345
    assert "12345" not in cursor and "portal" not in cursor  # opaque, not a readable key


def _reforge(cursor: str, **changes: object) -> str:
    payload, mac = cursor.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    return f"{new}.{mac}"


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        ("", "malformed"),
        ("abc", "malformed"),
        ("a.b.c", "malformed"),
        ("!!!.???", "base64url"),
        ("x" * 600, "malformed"),
        (_reforge(CODEC.encode(5, FILTER, "portal"), p=999999), "signature"),
        (CODEC.encode(5, FILTER, "portal")[:-2] + "AA", "signature"),
        (CursorCodec(b"another key").encode(5, FILTER, "portal"), "signature"),
        (CODEC.encode(5, "types=;districts=", "portal"), "another filter"),
        (CODEC.encode(5, FILTER, "agency"), "another consumer"),
    ],
)
def test_bad_forged_and_foreign_cursors_are_refused(cursor: str, message: str) -> None:
    with pytest.raises(CursorError, match=message):
        CODEC.decode(cursor, FILTER, "portal")


def test_a_signed_but_unusable_payload_is_refused() -> None:
    # Even with the key, only a non-negative integer position is ever accepted.
    payload = base64.urlsafe_b64encode(b'{"v":1,"p":"0 OR 1","f":"x","c":"y"}').rstrip(b"=")
    mac = CODEC._mac(payload.decode())
    cursor = payload.decode() + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    with pytest.raises(CursorError, match="malformed"):
        CODEC.decode(cursor, FILTER, "portal")
