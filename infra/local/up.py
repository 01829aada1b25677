"""`make up`: the local stack, kept running for curl until Ctrl-C.

Prints the URLs, the feed consumer's token, the environment for the CLI, and one ready-made
`curl` line (a signed webhook from a real example) to start from.

Every port is a free one the OS picks, unless given:

    python -m infra.local.up [--api-port PORT] [--portal-port PORT] [--moto-port PORT]
                             [--error-rate 0.2] [--latency-ms 40] [--stall-rate 0.005]
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from infra.local.stack import ROOT, LocalStack, StackInfo, StackOptions


def example_body(sources: dict[str, str], seed: int = 1405) -> tuple[str, bytes]:
    """(source, body) of a first event to post: an example file, else one generated."""
    for path in sorted((ROOT / "tests" / "examples").glob("*/valid-*.json")):
        body = path.read_bytes()
        try:
            envelope = json.loads(body)
            district = int(envelope["licence"]["issuing"]["district"])
        except (ValueError, KeyError, TypeError):
            continue
        source = str(envelope.get("source"))
        if (
            envelope.get("event_type") in ("licence.applied", "licence.issued")
            and source in sources
            and source == f"district-{district:02d}"
        ):
            return source, body
    from infra.local.dataset import build_dataset

    first = build_dataset(1, seed).deliveries[0]
    return first.source, first.body


def cli_python() -> str:
    """This interpreter (the venv's), as a user would type it: relative to the working
    directory when it is inside it (`.venv/bin/python` from the repository), else absolute."""
    executable = Path(sys.executable)
    try:
        return shlex.quote(str(executable.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(executable))


def banner(info: StackInfo, stack: LocalStack) -> str:
    from chalicelib.cli.sign import curl_line, sign_headers

    source, body = example_body(info.source_secrets)
    sample = stack.log_dir / "example-webhook.json"
    sample.write_bytes(body)
    secret = info.source_secrets[source]
    curl = curl_line(info.api_url, source, sign_headers(secret, body), sample)
    secrets_file = stack.log_dir / "source-secrets.json"
    secrets_file.write_text(json.dumps(info.source_secrets, indent=1), encoding="utf-8")
    secrets_file.chmod(0o600)
    env = {
        "AWS_ENDPOINT_URL": info.aws_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SYNC_QUEUE_URL": info.outputs["SyncQueueUrl"],
        "SYNC_DLQ_URL": info.outputs["SyncDeadLetterQueueUrl"],
        "SECRETS_PREFIX": info.outputs["SecretsPrefix"],
        "LICENCE_BRIDGE_URL": info.api_url,
        "LICENCE_BRIDGE_FEED_TOKEN": info.consumer_token,
    }
    exports = "\n".join(f"  export {k}={shlex.quote(v)}" for k, v in env.items())
    cli = f"{cli_python()} -m chalicelib.cli"
    return f"""
Licence Bridge local stack is up (stage {info.stage}). Ctrl-C stops everything.

  API              {info.api_url}
  portal (SOAP)    {info.portal_url}   WSDL: {info.portal_url}?wsdl
  portal admin     {info.portal_admin_url}   (UI: {info.portal_admin_url}/ui)
  AWS (moto)       {info.aws_endpoint}
  logs             {info.log_dir}

  feed consumer    {info.consumer}
  consumer token   {info.consumer_token}
  source secrets   {secrets_file}  (generated for this run, not kept anywhere else)

Environment for the CLI ({cli} feed follow / dlq list / consumers ...):
{exports}

Post a signed webhook ({source}, valid for 5 minutes; re-sign with
`{cli} sign --source {source} --secret-env SECRET FILE`):

  {curl}

Then:
  curl -sS -H 'Authorization: Bearer {info.consumer_token}' {info.api_url}/v1/feeds/licences
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m infra.local.up",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    StackOptions.add_arguments(parser, pollers=1)
    parser.add_argument("--schedule-interval", type=float, default=60.0)
    parser.add_argument("--log-dir", type=Path)
    args = parser.parse_args(argv)
    stack = LocalStack(
        StackOptions.from_arguments(
            args, schedule_interval=args.schedule_interval, log_dir=args.log_dir
        )
    )
    print("starting the local stack ...", file=sys.stderr)
    try:
        with stack as info:
            print(banner(info, stack), flush=True)
            while True:
                dead = stack.processes.check_alive()
                if dead:
                    print(f"stopping: {', '.join(dead)} exited (see {info.log_dir})")
                    return 1
                time.sleep(1.0)
    except KeyboardInterrupt:
        print("\nstopped; nothing left running.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
