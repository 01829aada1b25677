"""Settings read once from the environment; nothing else in the code reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

# Environment variable names, in one place.
STAGE = "STAGE"
LICENCES_TABLE = "LICENCES_TABLE"
FEED_TABLE = "FEED_TABLE"
IDEMPOTENCY_TABLE = "IDEMPOTENCY_TABLE"
ARCHIVE_BUCKET = "ARCHIVE_BUCKET"
SYNC_QUEUE_URL = "SYNC_QUEUE_URL"
SYNC_DLQ_URL = "SYNC_DLQ_URL"
SECRETS_PREFIX = "SECRETS_PREFIX"
PORTAL_URL = "PORTAL_URL"
SECRET_TTL_SECONDS = "SECRET_TTL_SECONDS"  # noqa: S105 - a variable name, not a secret


@dataclass(frozen=True)
class Settings:
    stage: str
    licences_table: str
    feed_table: str
    idempotency_table: str
    archive_bucket: str
    sync_queue_url: str
    sync_dlq_url: str
    secrets_prefix: str
    portal_url: str
    secret_ttl_seconds: float = 60.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        stage = env.get(STAGE, "local")
        return cls(
            stage=stage,
            licences_table=env.get(LICENCES_TABLE, "licence-bridge-licences"),
            feed_table=env.get(FEED_TABLE, "licence-bridge-feed"),
            idempotency_table=env.get(IDEMPOTENCY_TABLE, "licence-bridge-idempotency"),
            archive_bucket=env.get(ARCHIVE_BUCKET, "licence-bridge-archive"),
            sync_queue_url=env.get(SYNC_QUEUE_URL, ""),
            sync_dlq_url=env.get(SYNC_DLQ_URL, ""),
            secrets_prefix=env.get(SECRETS_PREFIX, f"licence-bridge/{stage}"),
            portal_url=env.get(PORTAL_URL, ""),
            secret_ttl_seconds=float(env.get(SECRET_TTL_SECONDS, "60")),
        )
