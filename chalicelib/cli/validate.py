"""`validate FILE…`: check webhook payload files as the API would, print every issue."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, TextIO

from chalicelib.jsonparse import JsonParseError, parse_json
from chalicelib.validation import ValidationResult, validate_event


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="validate webhook payload files (exit 0 when all are valid, 1 otherwise)",
        description=__doc__,
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--quiet", action="store_true", help="print only the invalid files")
    parser.set_defaults(handler=run)


def check_file(path: Path) -> ValidationResult | str:
    """The validation result, or a one-line reason the file could not be parsed."""
    try:
        parsed = parse_json(path.read_bytes())
    except OSError as error:
        return f"cannot read: {error.strerror}"
    except JsonParseError as error:
        where = f" at byte {error.position}" if error.position is not None else ""
        return f"not JSON: {error}{where}"
    return validate_event(parsed)


def describe(path: Path, outcome: ValidationResult | str, out: TextIO, quiet: bool = False) -> None:
    if isinstance(outcome, str):
        print(f"✗ {path}: {outcome}", file=out)
        return
    if outcome.ok:
        if not quiet:
            licence = outcome.document["licence"]
            print(
                f"✓ {path}: {licence['licence_type']} {outcome.document['event_type']} "
                f"{licence['licence_id']} v{licence['version']}",
                file=out,
            )
        return
    print(f"✗ {path}: {len(outcome.issues)} issue(s)", file=out)
    for issue in outcome.issues:
        seen = "" if issue.value is None else f" (seen: {issue.value})"
        print(f"    {issue.pointer}  [{issue.rule}]  {issue.message}{seen}", file=out)
        print(f"    {'':{len(issue.pointer)}}  {issue.message_fa}", file=out)


def run(args: argparse.Namespace) -> int:
    if hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(encoding="utf-8")
    failed = 0
    for path in args.files:
        outcome = check_file(path)
        describe(path, outcome, sys.stdout, args.quiet)
        failed += isinstance(outcome, str) or not outcome.ok
    return 1 if failed else 0
