"""`sign` and `dlq list` / `dlq redrive` (moto in-process; no processes started)."""

from __future__ import annotations

import base64
import json
import shlex
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook

from chalicelib import wiring
from chalicelib.cli.__main__ import main

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_sign_prints_a_curl_line_whose_signature_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    body = '{"event_id": "evt-00000001", "note": "کارواش\u200cها ۱۲"}'.encode()
    payload = tmp_path / "payload.json"
    payload.write_bytes(body)
    monkeypatch.setenv("DISTRICT_05_SECRET", SECRET)
    code = main(
        [
            "sign",
            "--source",
            "district-05",
            "--secret-env",
            "DISTRICT_05_SECRET",
            str(payload),
            "--url",
            "http://127.0.0.1:8000",
        ]
    )
    assert code == 0
    line = capsys.readouterr().out.strip()
    words = shlex.split(line)
    assert words[:5] == [
        "curl",
        "-sS",
        "-X",
        "POST",
        "http://127.0.0.1:8000/v1/webhooks/district-05",
    ]
    headers = dict(words[i + 1].split(": ", 1) for i, w in enumerate(words) if w == "-H")
    assert words[-1] == f"@{payload}"
    assert SECRET not in line
    Webhook(SECRET).verify(body, headers)  # raises if the signature is wrong


def test_sign_refuses_a_missing_secret(tmp_path: Path) -> None:
    payload = tmp_path / "p.json"
    payload.write_text("{}")
    assert main(["sign", "--source", "s", "--secret-env", "NOPE_NOT_SET", str(payload)]) == 2


def test_dlq_list_shows_without_consuming_and_redrive_moves_back(
    aws: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = wiring.client("sqs")
    dlq, queue = aws["SyncDeadLetterQueueUrl"], aws["SyncQueueUrl"]
    for version in (1, 2, 3):
        sqs.send_message(
            QueueUrl=dlq,
            MessageBody=json.dumps({"licence_id": "TM-05-1403-000123", "version": version}),
            MessageAttributes={"last_error": {"DataType": "String", "StringValue": "Busy"}},
        )
    assert main(["dlq", "list", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert sorted(r["version"] for r in rows) == [1, 2, 3]
    assert rows[0]["attributes"] == {"last_error": "Busy"}
    assert main(["dlq", "list", "--json"]) == 0  # still there: listing consumed nothing
    assert len(capsys.readouterr().out.splitlines()) == 3

    assert main(["dlq", "redrive", "--stage", "test"]) == 0
    moved = sqs.receive_message(
        QueueUrl=queue, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )["Messages"]
    assert sorted(json.loads(m["Body"])["version"] for m in moved) == [1, 2, 3]
    assert moved[0]["MessageAttributes"]["last_error"]["StringValue"] == "Busy"
    attrs = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    assert int(attrs["ApproximateNumberOfMessages"]) == 0
    assert int(attrs["ApproximateNumberOfMessagesNotVisible"]) == 0


def _no_aws_setup(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # it caches credentials it found
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("SYNC_DLQ_URL", raising=False)
    monkeypatch.delenv("SYNC_QUEUE_URL", raising=False)


@pytest.mark.parametrize(
    "case",
    [
        (("AWS_DEFAULT_REGION", "AWS_REGION"), ["dlq", "list"], "dlq list: no AWS region"),
        (
            (
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_SECURITY_TOKEN",
            ),
            ["dlq", "redrive", "--dlq-url", "http://127.0.0.1:9/q", "--queue-url", "u"],
            "dlq redrive: no AWS credentials",
        ),
    ],
)
def test_dlq_without_aws_setup_says_so_in_one_line(
    case: tuple[tuple[str, ...], list[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    unset, argv, says = case
    _no_aws_setup(monkeypatch, tmp_path)
    for name in unset:
        monkeypatch.delenv(name, raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(says), err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_dlq_with_nothing_listening_says_so_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.local.procs import free_port

    _no_aws_setup(monkeypatch, tmp_path)
    endpoint = f"http://127.0.0.1:{free_port()}"
    assert main(["dlq", "list", "--endpoint-url", endpoint, "--dlq-url", endpoint + "/q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"dlq list: cannot reach AWS at {endpoint}"), err
    assert len(err.strip().splitlines()) == 1


def test_feed_follow_reads_the_url_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from chalicelib.cli import feed

    called: dict[str, str] = {}

    def fake_follow(url: str, credential: str, **_: object) -> feed.FollowResult:
        called.update(url=url, credential=credential)
        return feed.FollowResult(pages=1, last_sequence=3)

    monkeypatch.setattr(feed, "follow", fake_follow)
    state = str(tmp_path / "state.json")
    monkeypatch.delenv("LICENCE_BRIDGE_URL", raising=False)
    monkeypatch.setenv("LICENCE_BRIDGE_FEED_TOKEN", "tok")
    assert main(["feed", "follow", "--state", state]) == 2
    assert "--url or LICENCE_BRIDGE_URL" in capsys.readouterr().err

    monkeypatch.setenv("LICENCE_BRIDGE_URL", "http://127.0.0.1:8123")
    assert main(["feed", "follow", "--state", state, "--quiet"]) == 0
    assert called == {"url": "http://127.0.0.1:8123", "credential": "tok"}
    assert main(["feed", "follow", "--state", state, "--quiet", "--url", "http://x:1"]) == 0
    assert called["url"] == "http://x:1"  # --url wins
