"""Feed test helpers: the feed table in moto, entries with real Persian text, a consumer."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from chalicelib import wiring
from chalicelib.feed import transact_with_feed_entry

ZWNJ = "\u200c"
TOKEN = "lb_feed_test_token_0123456789abcdef"
OTHER_TOKEN = "lb_other_consumer_token_abcdef0123"


def licence_record(
    number: int, licence_type: str = "FOOD_TRUCK", district: int = 5
) -> dict[str, Any]:
    return {
        "licence_id": f"TM-{district:02d}-1403-{number:06d}",
        "tracking_code": f"{number:010d}",
        "licence_type": licence_type,
        "version": 1,
        "status": "active",
        "issuing": {"district": district, "unit": f"ناحیه{ZWNJ}ی ۲ منطقه {district}"},
        "holder": {"kind": "person", "first_name": "زهرا", "last_name": f"محمدی{ZWNJ}نژاد"},
        "business": {"name": f"کافه{ZWNJ}ی سیار {number}", "activity": "فروش غذا"},
        "location": {
            "district": district,
            "coordinates": {"lat": Decimal("35.6891975"), "lon": Decimal("51.3889736")},
        },
        "fees": [{"kind": "issuance", "amount_rials": 123456789012345678901234567890}],
    }


def feed_entry(number: int, licence_type: str = "FOOD_TRUCK", district: int = 5) -> dict[str, Any]:
    record = licence_record(number, licence_type, district)
    return {
        "licence_id": record["licence_id"],
        "licence_type": licence_type,
        "district": str(district),
        "event_type": "licence.issued",
        "status": "active",
        "version": 1,
        "changed_at": "2025-03-20T10:15:00+03:30",
        "record": record,
    }


class FeedDb:
    def __init__(self, outputs: dict[str, str]) -> None:
        self.client = wiring.client("dynamodb")
        self.table = outputs["FeedTable"]

    def append(self, entry: dict[str, Any], *, age_seconds: float = 60.0) -> int:
        # Entries written "a minute ago" are past the GSI settle window, so filtered
        # reads see them at once; tests of the window itself pass age_seconds=0.
        import time

        return transact_with_feed_entry(
            self.client,
            feed_table=self.table,
            entry=entry,
            items=[],
            clock=lambda: time.time() - age_seconds,
        )


@pytest.fixture
def db(aws: dict[str, str]) -> FeedDb:
    return FeedDb(aws)


@pytest.fixture
def consumers(aws: dict[str, str]) -> dict[str, str]:
    """Two feed consumers in the consumers secret; returns consumer -> token."""
    tokens = {"portal": TOKEN, "agency": OTHER_TOKEN}
    body = {
        name: {
            "token_sha256": hashlib.sha256(token.encode()).hexdigest(),
            "scopes": ["read", "feed"],
        }
        for name, token in tokens.items()
    }
    body["reader"] = {
        "token_sha256": hashlib.sha256(b"lb_read_only_token_xyz").hexdigest(),
        "scopes": ["read"],
    }
    wiring.client("secretsmanager").put_secret_value(
        SecretId=f"{aws['SecretsPrefix']}/consumers", SecretString=json.dumps(body)
    )
    wiring.secret_store().forget()
    return tokens


@pytest.fixture
def serialised_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each moto request handled atomically, as DynamoDB handles each request.

    moto's TransactWriteItems checks conditions and writes without a lock, and rolls back by
    restoring a copy of the whole table, so two threads inside it at once can lose each
    other's writes: that would test moto, not us. Serialising single requests keeps every
    interleaving BETWEEN requests (the race our counter protocol is about) possible.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    lock = threading.Lock()
    original: Callable[..., Any] = BotocoreStubber.process_request

    def locked(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", locked)
    yield
