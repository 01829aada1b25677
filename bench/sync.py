"""Sync: one licence through our worker vs the same RegisterLicence with a bare zeep client.

Both run against the same portal simulator over real HTTP (no faults), both register a
licence the portal has never seen, rounds interleaved. The worker's extra work is ours:
reading the state from DynamoDB (moto, in-process), mapping, the conditional write back.
Also: cold init of the worker (fresh interpreter: import + client build) beside the floor
of `import zeep` + building a zeep client from the same WSDL.
"""

from __future__ import annotations

import copy
import itertools
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.report import Row, interleaved

ROOT = Path(__file__).resolve().parent.parent
_serial = itertools.count(1)


def _fresh(licence: dict[str, Any]) -> dict[str, Any]:
    n = next(_serial)
    fresh = copy.deepcopy(licence)
    fresh["licence_id"] = f"TM-{fresh['issuing']['district']:02d}-1404-{n:06d}"
    fresh["tracking_code"] = f"{7_000_000_000 + n}"
    return fresh


def _cold(code: str) -> float:
    script = f"import time\nt = time.perf_counter()\n{code}\nprint(time.perf_counter() - t)"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def run(rounds: int = 5, per_round: int = 40) -> list[Row]:
    from bench.moto_stack import moto_stack
    from chalicelib import wiring
    from chalicelib.portal.client import build_client
    from chalicelib.portal.mapping import to_portal_record
    from chalicelib.sync.worker import sync_licence
    from infra.local.portal_simulator import start_simulator
    from tests.portal.support import TYPES, canonical, seed_state

    with moto_stack():
        simulator = start_simulator(username="bench", password="bench-password")
        try:
            client = build_client(simulator.url, lambda: ("bench", "bench-password"))
            ddb, table = wiring.client("dynamodb"), wiring.settings().licences_table
            bases = [canonical(code) for code in TYPES]

            def worker_round() -> list[float]:
                licences = [_fresh(bases[i % len(bases)]) for i in range(per_round)]
                for licence in licences:
                    seed_state(ddb, table, licence)
                times = []
                for licence in licences:
                    start = time.perf_counter()
                    outcome = sync_licence(
                        licence["licence_id"], portal=client, time_left=lambda: 30.0
                    )
                    times.append(time.perf_counter() - start)
                    assert outcome.result == "synced", outcome
                return times

            def bare_round() -> list[float]:
                licences = [_fresh(bases[i % len(bases)]) for i in range(per_round)]
                times = []
                for licence in licences:
                    start = time.perf_counter()
                    client.register(
                        to_portal_record(licence), f"{licence['licence_id']}:{licence['version']}"
                    )
                    times.append(time.perf_counter() - start)
                return times

            def bare_with_state_round() -> list[float]:
                # The bare call plus the two DynamoDB calls a state-based worker must make
                # (read the state, record the result), also bare: isolates our own code.
                licences = [_fresh(bases[i % len(bases)]) for i in range(per_round)]
                for licence in licences:
                    seed_state(ddb, table, licence)
                times = []
                for licence in licences:
                    key = {"pk": {"S": f"LIC#{licence['licence_id']}"}, "sk": {"S": "STATE"}}
                    start = time.perf_counter()
                    ddb.get_item(TableName=table, Key=key, ConsistentRead=True)
                    receipt = client.register(
                        to_portal_record(licence), f"{licence['licence_id']}:{licence['version']}"
                    )
                    ddb.update_item(
                        TableName=table,
                        Key=key,
                        UpdateExpression="SET synced_version = :v, portal_licence_id = :p",
                        ExpressionAttributeValues={
                            ":v": {"N": str(licence["version"])},
                            ":p": {"N": str(receipt.portal_licence_id)},
                        },
                    )
                    times.append(time.perf_counter() - start)
                return times

            worker_round(), bare_round()  # warm both paths (WSDL parsed, connections open)
            timings = interleaved(
                {"worker": worker_round, "bare": bare_round, "bare_state": bare_with_state_round},
                rounds,
            )
        finally:
            simulator.stop()
    wsdl = ROOT / "chalicelib" / "schemas" / "portal" / "LicenceService.wsdl"
    floor = statistics.median(_cold(f"import zeep\nzeep.Client({str(wsdl)!r})") for _ in range(3))
    ours = statistics.median(
        _cold(
            "import app\nfrom chalicelib.portal.client import build_client\n"
            "build_client('http://127.0.0.1:9/portal/licence', lambda: ('u', 'p'))"
        )
        for _ in range(3)
    )
    return [
        Row(
            "sync",
            "one licence, register (worker vs bare zeep call)",
            "bare zeep call",
            timings["bare"],
            timings["worker"],
            "≤ 1.2×",
            timings["worker"] <= 1.2 * timings["bare"],
        ),
        Row(
            "sync",
            "one licence, worker vs bare zeep call + bare state read/write",
            "bare zeep + 2 bare DynamoDB calls",
            timings["bare_state"],
            timings["worker"],
            "≤ 1.2×",
            timings["worker"] <= 1.2 * timings["bare_state"],
        ),
        Row(
            "sync",
            "worker cold init: import app + client build",
            "import zeep + zeep.Client(wsdl)",
            floor,
            ours,
        ),
    ]
