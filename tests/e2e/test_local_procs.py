"""Shutdown of the local stack: children stop newest group first, pollers exit quietly."""

from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from infra.local.poller import Poller, poll_until_stopped
from infra.local.procs import Processes, stop_groups

# A child that notes its name in a file when SIGTERM arrives (after `delay` seconds of
# "finishing its work"), or ignores SIGTERM altogether when delay is negative.
CHILD = """
import signal, sys, time
name, record, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
def on_term(*_):
    time.sleep(delay)
    with open(record, "a", encoding="utf-8") as out:
        out.write(name + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, on_term if delay >= 0 else signal.SIG_IGN)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


def _wait_ready(log: Path, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and "ready" in log.read_text(encoding="utf-8"):
            return
        time.sleep(0.02)
    raise TimeoutError(f"{log.name}: child not ready")


def test_stop_all_stops_newest_group_first_and_moto_last(tmp_path: Path) -> None:
    record = tmp_path / "stopped.txt"
    processes = Processes(tmp_path / "logs", grace_seconds=3.0)
    # As the stack starts them; the slow ones would still be working when moto went.
    for name, delay in (
        ("moto", 0.0),
        ("portal", 0.0),
        ("api", 0.2),
        ("poller-0", 0.4),
        ("poller-1", 0.3),
    ):
        processes.spawn(name, [sys.executable, "-c", CHILD, name, str(record), str(delay)], {})
    for child in processes.children:
        assert child.log_path is not None
        _wait_ready(child.log_path)
    assert [[c.name for c in g] for g in stop_groups(list(reversed(processes.children)))] == [
        ["poller-1", "poller-0"],
        ["api"],
        ["portal"],
        ["moto"],
    ]
    processes.stop_all()
    order = record.read_text(encoding="utf-8").split()
    assert sorted(order[:2]) == ["poller-0", "poller-1"]
    assert order[2:] == ["api", "portal", "moto"]
    assert all(c.proc.poll() is not None for c in processes.children)


def test_a_child_ignoring_sigterm_is_killed_and_the_rest_still_stop(tmp_path: Path) -> None:
    record = tmp_path / "stopped.txt"
    processes = Processes(tmp_path / "logs", grace_seconds=0.5)
    for name, delay in (("moto", 0.0), ("poller-0", -1.0)):
        processes.spawn(name, [sys.executable, "-c", CHILD, name, str(record), str(delay)], {})
    for child in processes.children:
        assert child.log_path is not None
        _wait_ready(child.log_path)
    started = time.monotonic()
    processes.stop_all()
    assert time.monotonic() - started < 5
    assert record.read_text(encoding="utf-8").split() == ["moto"]
    assert all(c.proc.poll() is not None for c in processes.children)


class _Sqs:
    """receive_message fails as it does when moto has gone; optionally asks to stop first."""

    def __init__(self, stopping: threading.Event, stop_first: bool) -> None:
        self.stopping, self.stop_first, self.calls = stopping, stop_first, 0

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q"}}

    def receive_message(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.stop_first or self.calls > 1:
            self.stopping.set()
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1/")


def _never(event: dict[str, Any], context: Any) -> None:
    raise AssertionError("no message should reach the handler")


def test_a_receive_failing_after_stop_is_a_quiet_exit(caplog: pytest.LogCaptureFixture) -> None:
    stopping = threading.Event()
    poller = Poller(_Sqs(stopping, stop_first=True), "url", _never)
    with caplog.at_level(logging.INFO, logger="poller"):
        poll_until_stopped(poller, stopping, pause=0)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "stopping (EndpointConnectionError" in caplog.text


def test_a_receive_failing_while_running_is_still_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stopping = threading.Event()
    poller = Poller(_Sqs(stopping, stop_first=False), "url", _never)
    with caplog.at_level(logging.INFO, logger="poller"):
        poll_until_stopped(poller, stopping, pause=0)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "EndpointConnectionError" in errors[0].getMessage()
