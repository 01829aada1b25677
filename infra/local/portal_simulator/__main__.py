"""python -m infra.local.portal_simulator --port 8089 --username U --password P [faults]"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading

from infra.local.portal_simulator import start_simulator
from infra.local.portal_simulator.replies import FAULT_CODES


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Local national licence portal (SOAP 1.1)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--username", default="licence-bridge")
    parser.add_argument("--password", default="local-portal-password")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--stall-rate", type=float, default=0.0)
    parser.add_argument(
        "--fault-code", action="append", choices=FAULT_CODES, help="repeatable; default Busy"
    )
    parser.add_argument("--down-for-s", type=float, default=0.0)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    faults = {
        "error_rate": args.error_rate,
        "latency_ms": args.latency_ms,
        "stall_rate": args.stall_rate,
        "fault_codes": args.fault_code or ["Busy"],
    }
    if args.down_for_s:
        faults["down_for_s"] = args.down_for_s
    if args.seed is not None:
        faults["seed"] = args.seed
    handle = start_simulator(
        username=args.username, password=args.password, host=args.host, port=args.port, **faults
    )
    print(f"portal simulator: {handle.url} (WSDL {handle.url}?wsdl, admin {handle.admin}/ui)")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    handle.stop()


if __name__ == "__main__":
    main()
