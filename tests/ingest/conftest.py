"""Ingest fixtures: our stack in moto, registered sources, the Chalice test client."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib import wiring
from chalicelib.auth import token_sha256

SECRET_A = "whsec_" + base64.b64encode(b"district twenty, current secret!").decode()
SECRET_B = "whsec_" + base64.b64encode(b"district twenty, next secret....").decode()
SECRET_OTHER = "whsec_" + base64.b64encode(b"some other source's secret.....").decode()
READ_TOKEN = "lb_reader_token_for_tests_0123456789"
FEED_TOKEN = "lb_feed_only_token_for_tests_012345"

SOURCES: dict[str, dict[str, Any]] = {
    # Two live secrets: the rotation window.
    "district-20": {"secrets": [SECRET_A, SECRET_B], "licence_types": ["*"], "districts": ["*"]},
    "district-03": {"secrets": [SECRET_OTHER], "licence_types": ["FOOD_TRUCK"], "districts": [3]},
    "service-desk": {
        "secrets": [SECRET_OTHER],
        "licence_types": ["TAXI_DRIVER"],
        "districts": ["*"],
    },
}


def signed_headers(
    body: bytes,
    *,
    secret: str = SECRET_A,
    webhook_id: str = "msg_0001",
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    ts = int(datetime.now(UTC).timestamp()) if timestamp is None else timestamp
    signature = Webhook(secret).sign(webhook_id, datetime.fromtimestamp(ts, tz=UTC), body)
    return {
        "content-type": content_type,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": signature,
    }


def _lowered(response: Any) -> Any:
    response.headers = {k.lower(): v for k, v in response.headers.items()}
    return response


@dataclass
class Bridge:
    client: Any
    outputs: dict[str, str]

    def post(
        self,
        body: bytes,
        source: str = "district-20",
        headers: dict[str, str] | None = None,
        **sign: Any,
    ) -> Any:
        return _lowered(
            self.client.http.post(
                f"/v1/webhooks/{source}",
                headers=headers if headers is not None else signed_headers(body, **sign),
                body=body,
            )
        )

    def get(self, path: str, token: str | None = READ_TOKEN) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return _lowered(self.client.http.get(path, headers=headers))

    @property
    def ddb(self) -> Any:
        return wiring.client("dynamodb")

    def messages(self) -> list[dict[str, Any]]:
        sqs = wiring.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.outputs["SyncQueueUrl"], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not got:
                return found
            for message in got:
                found.append(json.loads(message["Body"]))
                sqs.delete_message(
                    QueueUrl=self.outputs["SyncQueueUrl"], ReceiptHandle=message["ReceiptHandle"]
                )

    def state(self, licence_id: str) -> dict[str, Any] | None:
        from chalicelib import store

        return store.get_state(self.ddb, self.outputs["LicencesTable"], licence_id)

    def history(self, licence_id: str) -> list[dict[str, Any]]:
        from chalicelib import store

        return store.get_history(self.ddb, self.outputs["LicencesTable"], licence_id)

    def feed_entries(self) -> list[dict[str, Any]]:
        items = self.ddb.query(
            TableName=self.outputs["FeedTable"],
            KeyConditionExpression="#s = :all",
            ExpressionAttributeNames={"#s": "stream"},
            ExpressionAttributeValues={":all": {"S": "all"}},
        )["Items"]
        from chalicelib.store import from_item

        return [from_item(i) for i in items]

    def archived(self) -> list[dict[str, Any]]:
        s3 = wiring.client("s3")
        bucket = self.outputs["ArchiveBucket"]
        listing = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return [s3.get_object(Bucket=bucket, Key=o["Key"]) | {"Key": o["Key"]} for o in listing]


@pytest.fixture
def bridge(aws: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Bridge:
    from chalice.test import Client

    import app
    from chalicelib.api import reading

    sm = wiring.client("secretsmanager")
    prefix = aws["SecretsPrefix"]
    for name, config in SOURCES.items():
        sm.create_secret(Name=f"{prefix}/sources/{name}", SecretString=json.dumps(config))
    sm.put_secret_value(
        SecretId=f"{prefix}/consumers",
        SecretString=json.dumps(
            {
                "reader": {"token_sha256": token_sha256(READ_TOKEN), "scopes": ["read", "feed"]},
                "feeder": {"token_sha256": token_sha256(FEED_TOKEN), "scopes": ["feed"]},
            }
        ),
    )
    monkeypatch.setattr(reading, "tracking_limiter", reading.RateLimiter())
    # An empty project dir: the test client would otherwise load .chalice/config.json's stage
    # environment over the moto stack's names.
    return Bridge(Client(app.app, project_dir=str(tmp_path)), aws)


@pytest.fixture
def serialised_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each moto request handled atomically, as DynamoDB handles each request.

    moto checks a transaction's conditions and writes without a lock (and rolls back by
    restoring a copy of the table), so two threads inside it could both pass: that would
    test moto, not us. Serialising requests keeps the races between our requests real.
    """
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    lock = threading.Lock()

    def locked(self: Any, request: Any) -> Any:
        with lock:
            return original(self, request)

    monkeypatch.setattr(BotocoreStubber, "process_request", locked)
    yield
