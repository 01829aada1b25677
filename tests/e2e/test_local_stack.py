"""The whole spine on one machine: moto server, the portal simulator, the API under
`chalice local` and the sync worker behind the SQS poller, on free loopback ports, with a
small data run (portal faults on) and the same verification `make run` does."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

from infra.local.dataset import build_dataset
from infra.local.run import print_report, run_data
from infra.local.stack import LocalStack, StackOptions

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _log_tails(log_dir: Path, lines: int = 15) -> str:
    out = []
    for path in sorted(log_dir.glob("*.log")):
        tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
        out.append(f"--- {path.name}\n" + "\n".join(tail))
    return "\n".join(out)


def test_small_data_run_verifies_end_to_end(tmp_path: Path) -> None:
    started = time.monotonic()
    stack = LocalStack(
        StackOptions(
            log_dir=tmp_path / "logs",
            error_rate=0.2,  # transient portal faults, retried in-process and by redelivery
            latency_ms=10,
            stall_rate=0.0,  # a stall costs a full client timeout: too slow for a 60 s run
            pollers=2,
            schedule_interval=5.0,
        )
    )
    result = None
    try:
        stack.start()
        dataset = build_dataset(60, seed=7)
        result = run_data(dataset, stack, senders=4, drain_timeout=45.0, progress=False)
    finally:
        stack.stop()
        groups = [child.proc.pid for child in stack.processes.children]
        assert groups, "the stack started nothing"
        deadline = time.monotonic() + 5
        while any(_group_alive(pid) for pid in groups) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_group_alive(pid) for pid in groups), "processes left running"
    elapsed = time.monotonic() - started

    assert result is not None
    report = result.report
    if not result.verdict.ok:
        text = io.StringIO()
        print_report(report, text)
        pytest.fail(text.getvalue() + "\n" + _log_tails(tmp_path / "logs"))
    assert report["events"]["deliveries"] >= 60
    assert report["events"]["data"] == dataset.data and dataset.data.startswith("data: ")
    printed = io.StringIO()
    print_report(report, printed)
    assert dataset.data in printed.getvalue().splitlines()
    assert report["events"]["licence_types"] == 22
    assert report["accepted"] > 0
    assert report["sync"]["by_status"] == {"synced": report["sync"]["licences"]}
    reasons = report["rejected_by_reason"]
    assert any(r.startswith("401") for r in reasons), reasons
    assert any(r.startswith("422") for r in reasons), reasons
    assert report["archive"]["objects"] == report["archive"]["authenticated_requests"]
    assert report["feed"]["entries"] == report["applied"]
    assert elapsed < 60 * 1.5, f"the small run took {elapsed:.0f} s"
