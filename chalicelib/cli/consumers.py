"""`consumers add NAME --scopes read,feed` / `consumers list` / `consumers remove NAME`.

Only the token's SHA-256 is stored in `<prefix>/consumers`; the token is printed once and
cannot be shown again (add again with --replace to issue a new one).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from chalicelib.auth import CONSUMERS_SECRET, SCOPES, new_token, token_sha256

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{1,62}$")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("consumers", help="API consumers (reading routes, feed)")
    actions = parser.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a consumer and print its token once")
    add.add_argument("name")
    add.add_argument("--scopes", default="read", help="comma-separated: read,feed")
    add.add_argument("--replace", action="store_true", help="issue a new token for NAME")
    add.set_defaults(handler=_add)
    listing = actions.add_parser("list", help="consumers and their scopes (no tokens)")
    listing.set_defaults(handler=_list)
    remove = actions.add_parser("remove", help="remove a consumer")
    remove.add_argument("name")
    remove.set_defaults(handler=_remove)


def _secret_name() -> str:
    from chalicelib import wiring

    return f"{wiring.settings().secrets_prefix}/{CONSUMERS_SECRET}"


def _read() -> dict[str, Any]:
    from chalicelib import wiring

    text = wiring.client("secretsmanager").get_secret_value(SecretId=_secret_name())
    value = json.loads(text["SecretString"] or "{}")
    return value if isinstance(value, dict) else {}


def _write(consumers: dict[str, Any]) -> None:
    from chalicelib import wiring

    wiring.client("secretsmanager").put_secret_value(
        SecretId=_secret_name(), SecretString=json.dumps(consumers, sort_keys=True)
    )


def _add(args: argparse.Namespace) -> int:
    if not _NAME.match(args.name):
        print(f"invalid consumer name {args.name!r}: use a-z, 0-9, '.', '_', '-'", file=sys.stderr)
        return 2
    scopes = sorted({s.strip() for s in args.scopes.split(",") if s.strip()})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown or not scopes:
        print(f"scopes must be among {', '.join(SCOPES)}", file=sys.stderr)
        return 2
    consumers = _read()
    if args.name in consumers and not args.replace:
        print(f"consumer {args.name!r} exists; use --replace for a new token", file=sys.stderr)
        return 1
    token = new_token()
    consumers[args.name] = {"token_sha256": token_sha256(token), "scopes": scopes}
    _write(consumers)
    print(token)
    print(
        f"consumer {args.name!r} ({', '.join(scopes)}): the token above is shown only once",
        file=sys.stderr,
    )
    return 0


def _list(args: argparse.Namespace) -> int:
    for name, entry in sorted(_read().items()):
        print(f"{name}\t{','.join(entry.get('scopes', []))}")
    return 0


def _remove(args: argparse.Namespace) -> int:
    consumers = _read()
    if consumers.pop(args.name, None) is None:
        print(f"no consumer {args.name!r}", file=sys.stderr)
        return 1
    _write(consumers)
    return 0
