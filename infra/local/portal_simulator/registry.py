"""The simulator's memory: licences it holds, request ids it has answered, nonces it has seen.

Thread-safe (one lock): the HTTP server answers each request on its own thread.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from lxml import etree


@dataclass
class Entry:
    portal_id: int
    municipal_id: str
    licence: Any  # the stored tns:licence element
    version: int
    status: str
    licence_type: str
    registered_at: str
    updated_at: str
    operations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    operation: str
    body_digest: str
    status: int
    reply: bytes


class Registry:
    def __init__(self, first_id: int = 19_000_001) -> None:
        self.lock = threading.RLock()
        self._ids = itertools.count(first_id)
        self.by_portal_id: dict[int, Entry] = {}
        self.by_municipal_id: dict[str, int] = {}
        self.answers: dict[str, Answer] = {}
        self._nonces: dict[str, float] = {}
        self.counts: Counter[str] = Counter()

    def next_id(self) -> int:
        with self.lock:
            return next(self._ids)

    def add(self, entry: Entry) -> None:
        with self.lock:
            self.by_portal_id[entry.portal_id] = entry
            self.by_municipal_id[entry.municipal_id] = entry.portal_id

    def find(self, portal_id: int | None = None, municipal_id: str | None = None) -> Entry | None:
        with self.lock:
            if portal_id is None and municipal_id is not None:
                portal_id = self.by_municipal_id.get(municipal_id)
            return self.by_portal_id.get(portal_id) if portal_id is not None else None

    def nonce_seen(self, nonce: str, now: float, ttl: float = 600.0) -> bool:
        """Remember `nonce`; True when it was already used (a replayed token)."""
        with self.lock:
            for old in [n for n, t in self._nonces.items() if t < now - ttl]:
                del self._nonces[old]
            if nonce in self._nonces:
                return True
            self._nonces[nonce] = now
            return False

    def count(self, name: str) -> None:
        with self.lock:
            self.counts[name] += 1

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "licences": [
                    {
                        "portal_licence_id": e.portal_id,
                        "licence_id": e.municipal_id,
                        "licence_type": e.licence_type,
                        "version": e.version,
                        "status": e.status,
                        "registered_at": e.registered_at,
                        "updated_at": e.updated_at,
                        "operations": list(e.operations),
                    }
                    for e in sorted(self.by_portal_id.values(), key=lambda x: x.portal_id)
                ],
                "requests": dict(self.counts),
                "answered_request_ids": len(self.answers),
                "time": time.time(),
            }

    def licence_copy(self, entry: Entry) -> Any:
        with self.lock:
            return copy.deepcopy(entry.licence)

    def reset(self) -> None:
        with self.lock:
            self.by_portal_id.clear()
            self.by_municipal_id.clear()
            self.answers.clear()
            self._nonces.clear()
            self.counts.clear()


def canonical_digest(element: Any) -> str:
    import hashlib

    return hashlib.sha256(etree.tostring(element, method="c14n")).hexdigest()
