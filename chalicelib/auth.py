"""Caller authentication for the reading routes and the feed: bearer tokens per consumer.

Decision: a check in our own code rather than API Gateway API keys or a Chalice authorizer.
API keys are meant for usage plans, not identity, and are not enforced by `chalice local`;
a Chalice built-in authorizer runs in `chalice local` but answers its own error bodies
(not our problem+json) and caches by token. A check in the view is enforced identically
everywhere (Lambda, `chalice local`, the test client) and answers in our one error shape.

Consumers live in the secret `<prefix>/consumers` as
{"<consumer>": {"token_sha256": "<hex>", "scopes": ["read", "feed"]}}; only hashes are kept,
and `python -m chalicelib.cli consumers add NAME` prints a new token once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any

from chalicelib.problems import Problem, unavailable
from chalicelib.secrets import SecretUnavailableError

SCOPES = ("read", "feed")
CONSUMERS_SECRET = "consumers"  # noqa: S105 - the secret's name
TOKEN_PREFIX = "lb_"  # noqa: S105 - a prefix, so leaked tokens are recognisable


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _unauthenticated() -> Problem:
    return Problem(
        401,
        "A valid bearer token is required.",
        slug="unauthenticated",
        headers={"WWW-Authenticate": 'Bearer realm="licence-bridge"'},
    )


def authenticate(authorization: str | None, consumers: Mapping[str, Any], scope: str) -> str:
    """The consumer owning the bearer token, if it has `scope`; else a 401 or 403 Problem."""
    if not authorization:
        raise _unauthenticated()
    kind, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if kind.lower() != "bearer" or not token:
        raise _unauthenticated()
    presented = token_sha256(token).encode()
    found: str | None = None
    # Compare against every consumer, so the time taken does not tell which one is near.
    for name, entry in consumers.items():
        stored = str(entry.get("token_sha256", "")) if isinstance(entry, Mapping) else ""
        if stored and hmac.compare_digest(presented, stored.lower().encode()):
            found = name
    if found is None:
        raise _unauthenticated()
    if scope not in consumers[found].get("scopes", ()):
        raise Problem(403, f"This consumer is not allowed the '{scope}' scope.")
    return found


def require_consumer(request: Any, scope: str) -> str:
    """The authenticated consumer id for a Chalice request, or a 401/403/503 Problem."""
    from chalicelib import logs, wiring

    try:
        consumers = wiring.secret_store().get_json(CONSUMERS_SECRET) or {}
    except (SecretUnavailableError, ValueError):
        raise unavailable() from None
    consumer = authenticate(request.headers.get("authorization"), consumers, scope)
    logs.bind(consumer=consumer)
    return consumer
