"""Opaque, signed feed cursors.

A cursor is `<payload>.<mac>`, both base64url without padding:
- payload: compact JSON `{"v": 1, "p": <position>, "f": <filter fp>, "c": <consumer fp>}`,
- mac: HMAC-SHA256 over `feed-cursor.v1.` + payload, keyed with the stack's
  `<prefix>/feed-cursor-key` secret.
The fingerprints are truncated SHA-256 of the canonical filter and of the consumer id, so a
cursor reveals neither. Because the MAC covers the position and both fingerprints, a consumer
cannot forge a position (or an arbitrary table key: the position is only ever an integer fed to
a key condition), nor carry a cursor over to another filter or hand it to another consumer.
Cursors carry no expiry: a position stays valid for as long as the feed keeps entries, which
is what a follower that was down for a week needs. Rotating the key invalidates every cursor
(consumers then restart from a position they choose), so rotate only deliberately.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass

_VERSION = 1
_CONTEXT = b"feed-cursor.v1."
_MAX_CURSOR_LENGTH = 512


class CursorError(ValueError):
    """The cursor is malformed, forged, or belongs to another filter or consumer."""


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise CursorError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise CursorError("not base64url") from None


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class CursorCodec:
    key: bytes

    def _mac(self, payload: str) -> bytes:
        return hmac.new(self.key, _CONTEXT + payload.encode("ascii"), hashlib.sha256).digest()

    def encode(self, position: int, filter_canonical: str, consumer: str) -> str:
        body = {
            "v": _VERSION,
            "p": position,
            "f": fingerprint(filter_canonical),
            "c": fingerprint(consumer),
        }
        payload = _b64encode(json.dumps(body, separators=(",", ":")).encode("ascii"))
        return f"{payload}.{_b64encode(self._mac(payload))}"

    def decode(self, cursor: str, filter_canonical: str, consumer: str) -> int:
        """The position in `cursor`, after checking its signature, filter and consumer."""
        if len(cursor) > _MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise CursorError("malformed cursor")
        payload, mac = cursor.split(".")
        if not hmac.compare_digest(_b64decode(mac), self._mac(payload)):
            raise CursorError("cursor signature does not verify")
        try:
            body = json.loads(_b64decode(payload))
        except ValueError:
            raise CursorError("malformed cursor") from None
        if not isinstance(body, dict):
            raise CursorError("malformed cursor")
        position = body.get("p")
        if body.get("v") != _VERSION or type(position) is not int or position < 0:
            raise CursorError("malformed cursor")
        if not hmac.compare_digest(str(body.get("c")), fingerprint(consumer)):
            raise CursorError("cursor was issued to another consumer")
        if not hmac.compare_digest(str(body.get("f")), fingerprint(filter_canonical)):
            raise CursorError("cursor was issued for another filter")
        return position
