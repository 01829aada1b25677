"""`make run`: the main job end to end on one machine, on real public data.

Starts the local stack (infra/local/stack.py), builds a realistic stream of licence events
(infra/local/dataset.py), posts them as signed webhooks with a progress bar, waits for the
sync queue to drain, follows the change feed with the reference consumer, prints a report,
then verifies and exits non-zero when anything fails:

- every input got the answer we expect, and every rejection carries a reason;
- every accepted licence is in the portal simulator at its latest version;
- the feed holds every applied change exactly once, in gap-free order;
- nothing was lost: one archived object per authenticated request, one history event per
  accepted delivery.

The data set depends only on --events, --seed and --anchor (never on the clock), and comes
from ../shared/data; the report says which data was used, and when Faker stood in for it.

    python -m infra.local.run [--events 1000] [--seed 1405] [--senders 4] [--error-rate 0.2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from infra.local.dataset import DEFAULT_ANCHOR, Dataset, build_dataset
from infra.local.sender import Outcome, Sender
from infra.local.stack import LocalStack, StackInfo, StackOptions
from infra.local.verify import (
    Verdict,
    archive_count,
    drain,
    poller_stats,
    portal_state,
    queue_depth,
    scan_states,
    verify,
)


@dataclass
class RunResult:
    report: dict[str, Any]
    verdict: Verdict
    outcomes: list[Outcome] = field(default_factory=list)
    info: StackInfo | None = None


def _bar(total: int, desc: str, enabled: bool) -> Any:
    """A progress bar on stderr; none when disabled or when stderr is not a terminal (CI)."""
    if not enabled:
        return None
    from tqdm import tqdm

    bar = tqdm(
        total=total, desc=desc, unit=" ev", file=sys.stderr, dynamic_ncols=True, disable=None
    )
    return None if bar.disable else bar


def run_data(
    dataset: Dataset,
    stack: LocalStack,
    *,
    senders: int = 4,
    drain_timeout: float = 600.0,
    redrive: bool = True,
    progress: bool = True,
) -> RunResult:
    """Send, drain, follow, verify, on a started stack."""
    from chalicelib.cli.feed import collect

    info = stack.info
    session = stack.session
    assert info is not None and session is not None
    started = time.monotonic()

    bar = _bar(len(dataset.deliveries), "webhooks", progress)
    sender = Sender(
        info.api_url,
        info.source_secrets,
        concurrency=senders,
        progress=(bar.update if bar else None),
    )
    outcomes = sender.send_all(dataset.deliveries)
    if bar:
        bar.close()
    sent_at = time.monotonic()

    expected = {o.delivery.licence_id for o in outcomes if o.applied}
    drain_bar = _bar(len(expected), "syncing", progress)
    last = [0]

    def tick(state: dict[str, int]) -> None:
        if drain_bar is None:
            return
        done = len(expected) - state["unsettled"]
        drain_bar.update(max(0, done - last[0]))
        last[0] = max(last[0], done)
        drain_bar.set_postfix(queued=state["queued"], in_flight=state["in_flight"])

    drained = drain(session, info, expected, drain_timeout, tick)
    if drain_bar:
        drain_bar.close()
    synced_at = time.monotonic()

    dlq_before = sum(queue_depth(session, info.outputs["SyncDeadLetterQueueUrl"]))
    redriven = 0
    if redrive and dlq_before:
        # What an operator does: the portal is healthy again, move the parked messages back.
        from chalicelib.cli.dlq import redrive as redrive_messages

        requests.post(info.portal_admin_url, json={"error_rate": 0, "stall_rate": 0}, timeout=10)
        redriven = redrive_messages(
            session.client("sqs"),
            info.outputs["SyncDeadLetterQueueUrl"],
            info.outputs["SyncQueueUrl"],
        )
        drained = drain(session, info, expected, drain_timeout) and drained

    feed = collect(info.api_url, info.consumer_token, limit=500)
    feed_at = time.monotonic()
    states = scan_states(session, info.outputs["LicencesTable"])
    portal = portal_state(info)
    archived = archive_count(session, info.outputs["ArchiveBucket"])
    verdict = verify(outcomes, states, portal, feed, archived)
    if not drained:
        verdict.fail(f"the sync queue did not drain within {drain_timeout:.0f} s")
    alive = stack.processes.check_alive()
    if alive:
        verdict.fail(f"processes died during the run: {', '.join(alive)}")

    wall = time.monotonic() - started
    pstats = poller_stats(info)
    statuses = Counter(o.status for o in outcomes)
    requests_sent = sum(o.attempts for o in outcomes)
    report = {
        "events": {
            "deliveries": len(outcomes),
            "licences": dataset.licences,
            "licence_types": len({o.delivery.licence_type for o in outcomes if o.accepted}),
            "seed": dataset.seed,
            "data": dataset.data,
        },
        "received": {
            "http_requests": requests_sent,
            "answers_by_status": {str(k): v for k, v in sorted(statuses.items(), key=str)},
            "duplicates_replayed": sum(
                1 for o in outcomes if o.accepted and o.delivery.duplicate_of is not None
            ),
        },
        "accepted": sum(o.accepted for o in outcomes),
        "applied": len(
            {
                (o.delivery.licence_id, o.delivery.version)
                for o in outcomes
                if o.applied and o.delivery.duplicate_of is None
            }
        ),
        "acknowledged_stale": sum(1 for o in outcomes if o.accepted and not o.applied),
        "rejected": sum(1 for o in outcomes if not o.accepted),
        "rejected_by_reason": verdict.figures.get("rejected_by_reason", {}),
        "sender_retries": {
            "transient (5xx/429/network)": sum(o.transient_retries for o in outcomes),
            "out of order (409, retried)": sum(o.order_retries for o in outcomes),
        },
        "sync": {
            "licences": verdict.figures.get("licences", 0),
            "by_status": verdict.figures.get("sync_status", {}),
            "worker_batches": pstats.get("batches", 0),
            "worker_records": pstats.get("records", 0),
            "retried (batchItemFailures)": pstats.get("failed", 0),
            "redelivered": pstats.get("redelivered", 0),
            "crashed_batches": pstats.get("crashed_batches", 0),
            "scheduled_job_runs": pstats.get("schedule_runs", {}),
            "rejected_by_portal": verdict.figures.get("sync_status", {}).get("rejected", 0),
            "dead_lettered": dlq_before,
            "redriven_after_run": redriven,
            "portal_requests": portal.get("requests", {}),
        },
        "feed": {"entries": len(feed)},
        "archive": {
            "objects": archived,
            "authenticated_requests": verdict.figures.get("authenticated_requests", 0),
        },
        "timing": {
            "send_s": round(sent_at - started, 1),
            "throughput_webhooks_per_s": round(len(outcomes) / max(sent_at - started, 1e-9), 1),
            "drain_s": round(synced_at - sent_at, 1),
            "feed_s": round(feed_at - synced_at, 1),
            "wall_s": round(wall, 1),
            "end_to_end_events_per_s": round(len(outcomes) / max(synced_at - started, 1e-9), 1),
        },
        "verification": {"ok": verdict.ok, "failures": verdict.failures[:50]},
        "logs": str(info.log_dir),
    }
    return RunResult(report, verdict, outcomes, info)


def print_report(report: dict[str, Any], stream: Any = sys.stdout) -> None:
    def line(label: str, value: Any, indent: int = 0) -> None:
        print(f"{' ' * indent}{label:<44}{value}", file=stream)

    ev, rec, sync, timing = report["events"], report["received"], report["sync"], report["timing"]
    print("\nLicence Bridge — local data run", file=stream)
    print("=" * 72, file=stream)
    line(
        "events (webhook deliveries)",
        f"{ev['deliveries']} for {ev['licences']} licences, "
        f"{ev['licence_types']} types, seed {ev['seed']}",
    )
    if ev.get("data"):
        print(ev["data"], file=stream)
    line("received (HTTP requests)", rec["http_requests"])
    line("answers by status", ", ".join(f"{k}: {v}" for k, v in rec["answers_by_status"].items()))
    line(
        "accepted",
        f"{report['accepted']} ({report['applied']} changes applied, "
        f"{report['acknowledged_stale']} older versions acknowledged as stale, "
        f"{rec['duplicates_replayed']} duplicate deliveries answered from idempotency)",
    )
    line("rejected", report["rejected"])
    for reason, count in report["rejected_by_reason"].items():
        line(reason, count, indent=2)
    for label, count in report["sender_retries"].items():
        line(f"sender retries, {label}", count)
    line("synced", sync["by_status"].get("synced", 0))
    line("sync status of licences", ", ".join(f"{k}: {v}" for k, v in sync["by_status"].items()))
    line(
        "retried by the worker",
        f"{sync['retried (batchItemFailures)']} records in "
        f"{sync['worker_batches']} batches ({sync['redelivered']} redeliveries)",
    )
    portal_requests = sync.get("portal_requests") or {}
    if portal_requests:
        line(
            "portal requests (incl. injected faults)",
            ", ".join(f"{k}: {v}" for k, v in sorted(portal_requests.items())),
        )
    jobs = sync.get("scheduled_job_runs") or {}
    line("scheduled jobs run", ", ".join(f"{k} x{v}" for k, v in jobs.items()) or "none")
    line("rejected by the portal", sync["rejected_by_portal"])
    line(
        "dead-lettered",
        f"{sync['dead_lettered']} (redriven after the run: {sync['redriven_after_run']})",
    )
    line("feed entries", report["feed"]["entries"])
    line(
        "archived objects",
        f"{report['archive']['objects']} "
        f"(authenticated requests: {report['archive']['authenticated_requests']})",
    )
    line(
        "throughput",
        f"{timing['throughput_webhooks_per_s']} webhooks/s sent, "
        f"{timing['end_to_end_events_per_s']} events/s to the portal",
    )
    line(
        "wall time",
        f"{timing['wall_s']} s (send {timing['send_s']} s, drain "
        f"{timing['drain_s']} s, feed {timing['feed_s']} s)",
    )
    print("-" * 72, file=stream)
    verification = report["verification"]
    if verification["ok"]:
        print(
            "VERIFIED: every accepted licence is in the portal at its latest version and in "
            "the feed once per change; every rejection has a reason; nothing lost.",
            file=stream,
        )
    else:
        print(f"VERIFICATION FAILED ({len(verification['failures'])} shown):", file=stream)
        for failure in verification["failures"]:
            print(f"  - {failure}", file=stream)
    peaks = report.get("peak_rss_mib")
    if peaks:
        print(
            "peak memory (RSS) " + " · ".join(f"{k} {v:.0f} MiB" for k, v in peaks.items()),
            file=stream,
        )
    print(f"logs: {report['logs']}", file=stream)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=1000, help="lifecycle events to send")
    parser.add_argument("--seed", type=int, default=1405)
    parser.add_argument(
        "--anchor",
        default=DEFAULT_ANCHOR.isoformat(),
        help="the instant the data's timeline ends at, ISO 8601 (default: %(default)s)",
    )
    parser.add_argument("--senders", type=int, default=4, help="concurrent webhook senders")
    StackOptions.add_arguments(parser, pollers=2)
    parser.add_argument("--drain-timeout", type=float, default=600.0)
    parser.add_argument("--no-redrive", action="store_true", help="leave the DLQ as it is")
    parser.add_argument("--report-json", type=Path, help="also write the report here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    dataset = build_dataset(args.events, args.seed, args.anchor)
    print(dataset.data, file=sys.stderr)
    stack = LocalStack(StackOptions.from_arguments(args))
    print(f"starting the local stack (logs in {stack.log_dir}) ...", file=sys.stderr)
    with stack as info:
        print(
            f"API {info.api_url} · portal {info.portal_url} · AWS {info.aws_endpoint}",
            file=sys.stderr,
        )
        result = run_data(
            dataset,
            stack,
            senders=args.senders,
            drain_timeout=args.drain_timeout,
            redrive=not args.no_redrive,
            progress=not args.quiet,
        )
        result.report["peak_rss_mib"] = stack.processes.peak_rss_mib()
    print_report(result.report)
    text = json.dumps(result.report, ensure_ascii=False, indent=1)
    (stack.log_dir / "report.json").write_text(text, encoding="utf-8")
    if args.report_json:
        args.report_json.write_text(text, encoding="utf-8")
    return 0 if result.verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
