"""Standard Webhooks verification over the raw request bytes.

The HMAC and the secret decoding are the `standardwebhooks` package's; what is ours is the
policy around it: several live secrets per source (rotation), a 5-minute window in both
directions measured against an injectable clock, strict header shapes (the webhook id ends
up in storage keys), and one failure type whose reason is for our logs only.

The library's own `verify` reads the wall clock itself, so we check the timestamp here and
ask the library for the expected signature of each secret; comparison is constant-time.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

TOLERANCE_SECONDS = 5 * 60
# Standard Webhooks ids are opaque strings; ours become part of S3 and DynamoDB keys.
_WEBHOOK_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class WebhookAuthError(Exception):
    """Not authentic. `reason` goes to the logs, never to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Verified:
    webhook_id: str
    timestamp: int


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # Plain dicts from tests and other callers may use any case; Chalice's is insensitive.
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def verify(
    raw: bytes,
    headers: Mapping[str, str],
    secrets: Iterable[str],
    *,
    now: Callable[[], float],
) -> Verified:
    webhook_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not (webhook_id and timestamp and signatures):
        raise WebhookAuthError("missing headers")
    if not _WEBHOOK_ID.match(webhook_id):
        raise WebhookAuthError("malformed webhook-id")
    if not _TIMESTAMP.match(timestamp):
        raise WebhookAuthError("malformed webhook-timestamp")
    seconds = int(timestamp)
    if abs(now() - seconds) > TOLERANCE_SECONDS:
        raise WebhookAuthError("timestamp outside tolerance")
    # Only v1 (HMAC-SHA256) is a signature scheme we accept; v1a and others are ignored.
    offered = [s.encode() for s in signatures.split(" ") if s.startswith("v1,")]
    if not offered:
        raise WebhookAuthError("no v1 signature")
    signed_at = datetime.fromtimestamp(seconds, tz=UTC)
    usable = 0
    for secret in secrets:
        try:
            expected = Webhook(secret).sign(webhook_id, signed_at, raw).encode()
        except Exception:  # noqa: S112 - a malformed stored secret must not stop rotation
            continue
        usable += 1
        if any(hmac.compare_digest(expected, candidate) for candidate in offered):
            return Verified(webhook_id=webhook_id, timestamp=seconds)
    raise WebhookAuthError("no matching signature" if usable else "no usable secret")
