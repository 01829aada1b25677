"""The composition root: the only place boto3 clients are built.

Clients are created lazily and cached per container, so moto (in-process or as a server
behind AWS_ENDPOINT_URL) intercepts them, and a cold start pays only for what it uses.
Tests call reset() between cases instead of patching anything.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from chalicelib.config import Settings
from chalicelib.secrets import SecretStore


@cache
def settings() -> Settings:
    return Settings.from_env()


@cache
def _session() -> Any:
    import boto3

    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    from botocore.config import Config

    # Short timeouts and few retries: a slow AWS call should fail the request (the sender
    # retries) rather than eat the Lambda's whole budget.
    config = Config(
        connect_timeout=3, read_timeout=10, retries={"max_attempts": 3, "mode": "standard"}
    )
    return _session().client(service, config=config)


@cache
def secret_store() -> SecretStore:
    current = settings()
    return SecretStore(client("secretsmanager"), current.secrets_prefix, current.secret_ttl_seconds)


def reset() -> None:
    """Forget every cached client and setting (tests, and the local stack after it sets env)."""
    settings.cache_clear()
    _session.cache_clear()
    client.cache_clear()
    secret_store.cache_clear()
