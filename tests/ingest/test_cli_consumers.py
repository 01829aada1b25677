"""`consumers add` issues a token once and stores only its hash."""

from __future__ import annotations

import json

import pytest

from chalicelib import wiring
from chalicelib.auth import token_sha256
from chalicelib.cli.__main__ import main
from tests.ingest.conftest import Bridge
from tests.ingest.payloads import encode, event


def test_an_added_consumer_can_read_with_the_printed_token(
    bridge: Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["consumers", "add", "national-portal", "--scopes", "read,feed"]) == 0
    token = capsys.readouterr().out.strip()
    stored = json.loads(
        wiring.client("secretsmanager").get_secret_value(
            SecretId=f"{bridge.outputs['SecretsPrefix']}/consumers"
        )["SecretString"]
    )
    assert stored["national-portal"] == {
        "token_sha256": token_sha256(token),
        "scopes": ["feed", "read"],
    }
    assert token not in json.dumps(stored)
    assert main(["consumers", "add", "national-portal"]) == 1  # exists
    assert main(["consumers", "add", "x", "--scopes", "write"]) == 2

    wiring.secret_store().forget()  # the API's cache, as its TTL would
    bridge.post(encode(event("applied", 1)), webhook_id="m1")
    assert bridge.get("/v1/licences/TM-20-1403-000157", token=token).status_code == 200
