"""The raw archive: every authenticated request body, byte for byte, with its headers.

Written right after authentication and before parsing, so a body we later reject (or fail
on) can still be examined and replayed exactly as the sender signed it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

# Headers worth keeping; S3 metadata is limited to 2 KB in all, so not the whole request.
KEPT_HEADERS = (
    "content-type",
    "content-length",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "user-agent",
    "x-forwarded-for",
    "x-amzn-trace-id",
    "x-correlation-id",
)
_MAX_VALUE = 300


def received_at_text(received_at: datetime) -> str:
    """Fixed-width UTC ISO time: sorts as text in keys (S3, history, outbox)."""
    return received_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def archive_key(source: str, webhook_id: str, received_at: datetime) -> str:
    utc = received_at.astimezone(UTC)
    return f"raw/{utc:%Y/%m/%d}/{source}/{webhook_id}/{received_at_text(utc)}"


def _metadata_value(value: str) -> str:
    # S3 metadata travels as HTTP headers: ASCII only, so anything else is percent-encoded.
    return quote(value[:_MAX_VALUE], safe=" !#$&'()*+,/:;=?@[]~-._")


def put_raw(
    s3: Any,
    *,
    bucket: str,
    key: str,
    body: bytes,
    headers: Mapping[str, str],
    correlation_id: str,
) -> None:
    lowered = {k.lower(): v for k, v in headers.items()}
    metadata = {name: _metadata_value(lowered[name]) for name in KEPT_HEADERS if name in lowered}
    metadata["correlation-id"] = correlation_id
    metadata["body-sha256"] = hashlib.sha256(body).hexdigest()
    s3.put_object(
        Bucket=bucket,
        Key=key,
        Body=body,
        ContentType="application/octet-stream",
        Metadata=metadata,
        ServerSideEncryption="aws:kms",
    )
