"""The reference consumer over real HTTP (Chalice's local server on loopback, moto in-process)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.config import Config
from chalice.local import LocalDevServer

from app import app
from chalicelib.cli import __main__ as cli
from chalicelib.cli.feed import FeedError, collect, follow, load_state
from tests.feed.conftest import TOKEN, ZWNJ, FeedDb, feed_entry


@pytest.fixture
def api_url(aws: dict[str, str], consumers: dict[str, str]) -> Iterator[str]:
    server = LocalDevServer(app, Config.create(chalice_stage="test"), "127.0.0.1", 0)
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server.server_address[1]}"
    finally:
        server.shutdown()
        server.server.server_close()
        thread.join(5)


def test_collect_reads_everything_with_exact_values(api_url: str, db: FeedDb) -> None:
    for n in range(1, 12):
        db.append(feed_entry(n))
    entries = collect(api_url, TOKEN, limit=4)
    assert [e["sequence"] for e in entries] == list(range(1, 12))
    licence = entries[0]["licence"]
    assert licence["business"]["name"] == f"کافه{ZWNJ}ی سیار 1"
    assert licence["fees"][0]["amount_rials"] == 123456789012345678901234567890
    assert str(licence["location"]["coordinates"]["lat"]) == "35.6891975"


def test_resume_after_restart_from_the_state_file(api_url: str, db: FeedDb, tmp_path: Path) -> None:
    state, output = tmp_path / "state.json", tmp_path / "entries.jsonl"
    for n in range(1, 11):
        db.append(feed_entry(n))
    # First run stops after two pages, as if killed.
    first = follow(api_url, TOKEN, state_file=state, output=output, limit=3, max_pages=2)
    assert first.last_sequence == 6
    assert load_state(state)["sequence"] == 6
    assert not list(tmp_path.glob(".state.json.*"))  # the atomic write left no temp file
    for n in range(11, 14):
        db.append(feed_entry(n))
    # A crash after the entries were written but before the cursor was saved: the state
    # file is one page behind the output; the restart must not duplicate those entries.
    stale = load_state(state)
    follow(api_url, TOKEN, state_file=state, output=output, limit=3, max_pages=1)
    state.write_text(json.dumps(stale), encoding="utf-8")
    second = follow(api_url, TOKEN, state_file=state, output=output, limit=3)
    assert second.entries[0]["sequence"] == 7  # resumed from the saved cursor
    written = [json.loads(line)["sequence"] for line in output.read_text().splitlines()]
    assert written == list(range(1, 14))


def test_cli_follow_until_caught_up(
    api_url: str, db: FeedDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(1, 6):
        db.append(feed_entry(n))
    state = tmp_path / "feed-state.json"
    argv = ["feed", "follow", "--url", api_url, "--credential", TOKEN, "--state", str(state)]
    assert cli.main([*argv, "--until-caught-up", "--quiet", "--limit", "2"]) == 0
    # The in-process server logs to stdout too; the CLI's report is the last line.
    report: dict[str, Any] = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["last_sequence"] == 5 and report["pages"] == 3
    db.append(feed_entry(6))
    assert cli.main([*argv, "--until-caught-up", "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["last_sequence"] == 6


def test_a_bad_credential_is_a_client_error_not_retried(api_url: str, db: FeedDb) -> None:
    with pytest.raises(FeedError) as raised:
        collect(api_url, "lb_not_a_consumer_token_00000000")
    assert raised.value.status == 401
