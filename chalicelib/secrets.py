"""Secrets Manager reads with a short in-memory TTL cache.

A Lambda container serves many requests: caching saves a call per request, while the short
TTL lets a rotated secret (a new webhook secret, new portal credentials) take effect within
a minute without a deploy. Misses are cached too, so an unknown source cannot be used to
hammer Secrets Manager; the cache holds at most `max_entries` names (the oldest go first),
so endless made-up source names cannot grow a container's memory either.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any


class SecretUnavailableError(Exception):
    """Secrets Manager could not be read (not: the secret does not exist)."""


class SecretStore:
    def __init__(
        self,
        client: Any,
        prefix: str,
        ttl_seconds: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 256,
    ) -> None:
        self._client = client
        self._prefix = prefix.rstrip("/")
        self._ttl = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._cache: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def name(self, suffix: str) -> str:
        return f"{self._prefix}/{suffix}"

    def get_text(self, suffix: str) -> str | None:
        """The secret `<prefix>/<suffix>` as text, or None when it does not exist."""
        name = self.name(suffix)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(name)
            if hit is not None and hit[0] > now:
                return hit[1]  # type: ignore[no-any-return]
        try:
            value: str | None = self._client.get_secret_value(SecretId=name)["SecretString"]
        except self._client.exceptions.ResourceNotFoundException:
            value = None
        except Exception as error:  # botocore errors, timeouts: ours, so the caller answers 5xx
            raise SecretUnavailableError(type(error).__name__) from None
        with self._lock:
            self._cache[name] = (now + self._ttl, value)
            self._cache.move_to_end(name)
            while len(self._cache) > self._max_entries:
                self._cache.popitem(last=False)
        return value

    def get_json(self, suffix: str) -> dict[str, Any] | None:
        text = self.get_text(suffix)
        if text is None:
            return None
        value = json.loads(text)
        if not isinstance(value, dict):
            raise SecretUnavailableError(f"{self.name(suffix)} is not a JSON object")
        return value

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
