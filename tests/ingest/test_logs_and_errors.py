"""Logs are structured and masked; unexpected errors are 500 problems with a metric."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chalice import Chalice
from chalice.test import Client

from chalicelib import logs, problems
from tests.ingest.conftest import SECRET_A, Bridge
from tests.ingest.payloads import HOLDER_MOBILE, HOLDER_NATIONAL_ID, encode, event

ROOT = Path(__file__).resolve().parents[2]


def _lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


def test_request_logs_carry_context_and_never_a_national_id_or_phone(
    bridge: Bridge, capsys: pytest.CaptureFixture[str]
) -> None:
    accepted = bridge.post(encode(event("applied", 1)), webhook_id="msg_log")
    bad = event("review_started", 2)
    bad["licence"]["holder"]["national_id"] = "0012345678"  # fails its checksum: 422
    bridge.post(encode(bad), webhook_id="msg_log_bad")
    logs.get_logger("test").info(
        "a careless message about %s and %s with %s",
        HOLDER_NATIONAL_ID,
        "+98 9396879268".replace(" ", ""),
        SECRET_A,
    )
    out = capsys.readouterr().out
    lines = _lines(out)
    answered = next(line for line in lines if line.get("outcome") == "accepted")
    assert answered["correlation_id"] == accepted.headers["x-correlation-id"]
    assert (answered["source"], answered["licence_id"], answered["event_type"]) == (
        "district-20",
        "TM-20-1403-000157",
        "licence.applied",
    )
    rejected = next(line for line in lines if line.get("outcome") == "rejected")
    assert rejected["status"] == 422
    for secret in (HOLDER_NATIONAL_ID, HOLDER_MOBILE, "9396879268", "0012345678", SECRET_A[6:]):
        assert secret not in out
    careless = next(line for line in lines if line["logger"] == "licence_bridge.test")
    assert "02******70" in careless["message"] and "whsec_***" in careless["message"]


def test_an_unexpected_exception_is_a_500_problem_a_metric_and_a_masked_log(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    app = Chalice(app_name="crash")
    problems.install(app)

    @app.route("/boom")
    def boom() -> None:
        raise RuntimeError("holder 0110805585 could not be mapped")

    with Client(app, project_dir=str(tmp_path)) as client:
        response = client.http.get("/boom", headers={"x-correlation-id": "corr-12345678"})
    assert response.status_code == 500
    assert response.headers["Content-Type"] == "application/problem+json"
    body = json.loads(response.body)
    assert body == {
        "type": "https://schemas.licence-bridge.ir/problems/internal-error",
        "title": "Internal server error",
        "status": 500,
        "detail": "Something failed on our side; the request was not accepted. Please retry.",
        "instance": "/boom",
        "correlation_id": "corr-12345678",
    }
    out = capsys.readouterr().out
    assert "0110805585" not in out
    metric = next(line for line in _lines(out) if "_aws" in line)
    assert metric["ServerErrors"] == 1
    assert metric["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "LicenceBridge"
    assert metric["correlation_id"] == "corr-12345678"


def test_importing_the_app_loads_neither_zeep_nor_lxml() -> None:
    code = (
        "import sys, app\n"
        "from chalicelib import ingest\n"
        "from chalicelib.validation import validate_event\n"
        "validate_event({})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('zeep', 'lxml')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
