"""The registry of sending systems, kept in Secrets Manager beside their webhook secrets.

`<prefix>/sources/<source>` = {"secrets": ["whsec_…", …], "licence_types": ["*" | codes],
"districts": ["*" | numbers]}. One secret per source holds both what proves a sender and
what it may send, so registering or retiring a source is one put-secret-value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from chalicelib.secrets import SecretStore, SecretUnavailableError

# Checked before any Secrets Manager call, so a path segment cannot address another secret.
_SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")


@dataclass(frozen=True)
class Source:
    name: str
    secrets: tuple[str, ...]
    licence_types: frozenset[str] | None  # None: every type
    districts: frozenset[int] | None  # None: every district

    def allows(self, licence_type: str, district: int) -> bool:
        return (self.licence_types is None or licence_type in self.licence_types) and (
            self.districts is None or district in self.districts
        )


def _types(value: Any) -> frozenset[str] | None:
    values = [str(v) for v in (value or [])]
    return None if "*" in values else frozenset(values)


def _districts(value: Any) -> frozenset[int] | None:
    values = [str(v).strip() for v in (value or [])]
    if "*" in values:
        return None
    return frozenset(int(v) for v in values if v.isdigit())


def load_source(store: SecretStore, name: str) -> Source | None:
    """The registered source, or None when there is no such source.

    Raises SecretUnavailableError when Secrets Manager cannot answer (ours: a 5xx).
    """
    if not _SOURCE_NAME.match(name):
        return None
    try:
        config = store.get_json(f"sources/{name}")
    except ValueError as error:  # not JSON: a broken registration is ours to fix
        raise SecretUnavailableError(f"sources/{name} is not JSON") from error
    if config is None:
        return None
    secrets = config.get("secrets")
    if isinstance(secrets, str):
        secrets = [secrets]
    return Source(
        name=name,
        secrets=tuple(str(s) for s in (secrets or [])),
        licence_types=_types(config.get("licence_types")),
        districts=_districts(config.get("districts")),
    )
