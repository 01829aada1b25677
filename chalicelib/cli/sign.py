"""`sign --source S --secret-env VAR FILE`: sign a payload file as a municipal sender would.

Prints a ready `curl` line (Standard Webhooks headers: webhook-id, webhook-timestamp,
webhook-signature) that posts the file's exact bytes to `/v1/webhooks/S`. The secret is read
from the environment variable VAR, never from the command line, so it stays out of `ps` and
shell history.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DEFAULT_URL = "http://127.0.0.1:8000"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sign", help="sign a webhook payload file and print a curl line", description=__doc__
    )
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--source", required=True, help="the sending system, e.g. district-05")
    parser.add_argument(
        "--secret-env",
        required=True,
        metavar="VAR",
        help="environment variable holding the source's whsec_ secret",
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("LICENCE_BRIDGE_URL", DEFAULT_URL),
        help="API base URL (default: $LICENCE_BRIDGE_URL or %(default)s)",
    )
    parser.add_argument("--id", dest="webhook_id", help="webhook id (default: a new msg_ id)")
    parser.add_argument("--timestamp", type=int, help="unix seconds (default: now)")
    parser.add_argument("--json", action="store_true", help="print the headers as JSON instead")
    parser.set_defaults(handler=run)


def sign_headers(
    secret: str, body: bytes, webhook_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The Standard Webhooks headers for `body` (signed over its exact bytes)."""
    from standardwebhooks.webhooks import Webhook

    webhook_id = webhook_id or "msg_" + secrets.token_hex(12)
    when = datetime.fromtimestamp(timestamp, UTC) if timestamp else datetime.now(UTC)
    signature: str = Webhook(secret).sign(webhook_id, when, body)
    return {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": signature,
    }


def curl_line(url: str, source: str, headers: dict[str, str], file: Path) -> str:
    target = f"{url.rstrip('/')}/v1/webhooks/{source}"
    parts = ["curl", "-sS", "-X", "POST", target]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    parts += ["--data-binary", f"@{file}"]
    return " ".join(shlex.quote(p) for p in parts)


def run(args: argparse.Namespace) -> int:
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        print(f"sign: ${args.secret_env} is empty or not set", file=sys.stderr)
        return 2
    try:
        body = args.file.read_bytes()
    except OSError as error:
        print(f"sign: cannot read {args.file}: {error.strerror}", file=sys.stderr)
        return 2
    try:
        headers = sign_headers(secret, body, args.webhook_id, args.timestamp)
    except Exception as error:  # a malformed secret: say so without echoing it
        print(
            f"sign: the secret in ${args.secret_env} is not usable ({type(error).__name__})",
            file=sys.stderr,
        )
        return 2
    if args.json:
        print(json.dumps(headers, indent=1))
    else:
        print(curl_line(args.url, args.source, headers, args.file))
    print(
        "the signature is valid for 5 minutes (the API rejects older timestamps)", file=sys.stderr
    )
    return 0
