"""Run every benchmark section and print one report (`--write` also updates bench/README.md)."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys

from bench.report import Row, table

SECTIONS = ("bench.validation", "bench.ingest", "bench.sync", "bench.cold_start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="run only sections whose module name contains this")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    for name in SECTIONS:
        if args.only and args.only not in name:
            continue
        print(f"running {name} …", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(name).run(rounds=args.rounds))
    print(
        f"Licence Bridge benchmarks — Python {platform.python_version()} on {platform.machine()}, "
        f"{platform.processor() or 'cpu'}; medians of {args.rounds} interleaved rounds"
    )
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
