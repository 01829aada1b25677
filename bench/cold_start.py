"""Cold start of each function, in a fresh interpreter on a Lambda-like code directory.

Each run: `python -S` (no site-packages: only the code directory, as on Lambda) imports
app.py and serves one first request against moto in server mode over HTTP:
- api: a signed webhook for a never-seen licence (POST /v1/webhooks/{source});
- sync_worker: one SQS record for that licence (a real RegisterLicence on the simulator);
- outbox_sweeper: one sweep.
The floor, in the same kind of interpreter and directory: `import boto3, chalice`, the
same boto3 clients, and the same AWS calls made bare. Both directory variants are timed:
`source` (as Chalice ships: no .pyc, read-only) and `bytecode` (unchecked-hash .pyc added
by infra.bytecode, which `make package` runs).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.ingest import (  # the payloads _bodies() builds name this source
    SECRET,
    SOURCE,
    proxy_event,
)
from bench.report import Row

_HARNESS = r"""
import json, os, sys, time
started = time.perf_counter()
{body}
elapsed = time.perf_counter() - started
# VmHWM, not ru_maxrss: on Linux a forked child's ru_maxrss starts at its parent's.
peak_kib = int(next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1])
loaded = sorted(m for m in ("zeep", "lxml", "jsonschema", "jsonschema_rs") if m in sys.modules)
print(json.dumps({{"seconds": elapsed, "peak_kib": peak_kib, "loaded": loaded}}))
"""

_API = """
import app
event = json.loads(os.environ["BENCH_EVENT"])
class Context:
    function_name = "api"; aws_request_id = "cold"
    def get_remaining_time_in_millis(self): return 15000
response = app.app(event, Context())
assert response["statusCode"] == 202, response
"""

_WORKER = """
import app
event = json.loads(os.environ["BENCH_EVENT"])
class Context:
    function_name = "sync_worker"; aws_request_id = "cold"
    def get_remaining_time_in_millis(self): return 60000
result = app.sync_worker(event, Context())
assert result == {"batchItemFailures": []}, result
"""

_SWEEPER = """
import app
event = {"version": "0", "id": "cold", "detail-type": "Scheduled Event", "source": "aws.events",
         "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
         "resources": [], "detail": {}}
app.outbox_sweeper(event, None)
"""

_FLOOR = """
import boto3, chalice
session = boto3.session.Session()
clients = {name: session.client(name) for name in NAMES}
CALLS
"""

_FLOOR_CALLS = {
    "api": (
        ("secretsmanager", "s3", "dynamodb", "sqs"),
        """
s = os.environ
clients["secretsmanager"].get_secret_value(SecretId=s["SECRETS_PREFIX"] + "/sources/SOURCE")
clients["s3"].put_object(Bucket=s["ARCHIVE_BUCKET"], Key="raw/floor", Body=b"{}")
ddb = clients["dynamodb"]
ddb.get_item(TableName=s["IDEMPOTENCY_TABLE"], Key={"key": {"S": "floor"}})
ddb.get_item(TableName=s["LICENCES_TABLE"], Key={"pk": {"S": "floor"}, "sk": {"S": "STATE"}})
ddb.get_item(TableName=s["FEED_TABLE"], Key={"stream": {"S": "floor"}, "seq": {"N": "0"}})
ddb.transact_write_items(TransactItems=[{"Put": {"TableName": s["LICENCES_TABLE"],
    "Item": {"pk": {"S": "floor"}, "sk": {"S": str(time.time())}}}}])
clients["sqs"].send_message(QueueUrl=s["SYNC_QUEUE_URL"], MessageBody="{}")
ddb.update_item(TableName=s["LICENCES_TABLE"], Key={"pk": {"S": "floor"}, "sk": {"S": "X"}},
    UpdateExpression="SET a = :a", ExpressionAttributeValues={":a": {"S": "b"}})
""".replace("SOURCE", SOURCE),
    ),
    "sync_worker": (
        ("secretsmanager", "dynamodb", "sqs"),
        """
import zeep
s = os.environ
clients["secretsmanager"].get_secret_value(SecretId=s["SECRETS_PREFIX"] + "/portal")
ddb = clients["dynamodb"]
ddb.get_item(TableName=s["LICENCES_TABLE"], Key={"pk": {"S": "floor"}, "sk": {"S": "STATE"}})
clients["sqs"].get_queue_attributes(QueueUrl=s["SYNC_QUEUE_URL"], AttributeNames=["All"])
zeep.Client(os.environ["BENCH_WSDL"])
ddb.update_item(TableName=s["LICENCES_TABLE"], Key={"pk": {"S": "floor"}, "sk": {"S": "Y"}},
    UpdateExpression="SET a = :a", ExpressionAttributeValues={":a": {"S": "b"}})
""",
    ),
    "outbox_sweeper": (
        ("dynamodb", "sqs"),
        """
s = os.environ
clients["dynamodb"].query(TableName=s["LICENCES_TABLE"], IndexName="outbox",
    KeyConditionExpression="outbox_pk = :p", ExpressionAttributeValues={":p": {"S": "OUTBOX"}})
""",
    ),
}


def _child(code_dir: Path, body: str, env: dict[str, str]) -> dict[str, Any]:
    script = _HARNESS.format(body=body)
    done = subprocess.run(
        [sys.executable, "-S", "-c", script],
        cwd=code_dir,
        env={**env, "PYTHONPATH": str(code_dir), "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold start child failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(rounds: int = 3) -> list[Row]:
    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    from bench.ingest import _bodies
    from bench.lambda_dir import build
    from infra.local.portal_simulator import start_simulator
    from infra.provision import provision, stage_environment

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    variants = build()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    simulator = start_simulator(username="cold", password="cold-start-password")
    base_env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_ACCESS_KEY_ID": "cold",
        "AWS_SECRET_ACCESS_KEY": "cold",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "PORTAL_URL": simulator.url,
        "BENCH_WSDL": str(
            Path(__file__).resolve().parent.parent / "chalicelib/schemas/portal/LicenceService.wsdl"
        ),
    }
    try:
        session = boto3.session.Session(
            aws_access_key_id="cold", aws_secret_access_key="cold", region_name="us-east-1"
        )
        outputs = provision(_EndpointSession(session, endpoint), "local")
        base_env.update(stage_environment(outputs, "local"))
        secrets = session.client("secretsmanager", endpoint_url=endpoint)
        secrets.put_secret_value(
            SecretId=f"{outputs['SecretsPrefix']}/portal",
            SecretString=json.dumps({"username": "cold", "password": "cold-start-password"}),
        )
        secrets.create_secret(
            Name=f"{outputs['SecretsPrefix']}/sources/{SOURCE}",
            SecretString=json.dumps(
                {"secrets": [SECRET], "licence_types": ["*"], "districts": ["*"]}
            ),
        )
        arn = outputs["SyncQueueArn"]
        samples: dict[tuple[str, str], list[dict[str, Any]]] = {}
        counter = 0
        for _ in range(rounds):
            for variant, code_dir in variants.items():
                # The api child stores a new licence; the worker child then syncs that one.
                counter += 1
                body = _bodies(1)[0]
                licence = json.loads(body)["licence"]
                events = {
                    "api": proxy_event(body, f"cold_{counter}", stage="local"),
                    "sync_worker": _sqs_event(arn, licence),
                }
                for function, script in (
                    ("api", _API),
                    ("sync_worker", _WORKER),
                    ("outbox_sweeper", _SWEEPER),
                ):
                    env = {**base_env, "BENCH_EVENT": json.dumps(events.get(function, {}))}
                    result = _child(code_dir, script, env)
                    samples.setdefault((function, variant), []).append(result)
                    names, calls = _FLOOR_CALLS[function]
                    floor_script = _FLOOR.replace("NAMES", repr(names)).replace("CALLS", calls)
                    floor = _child(code_dir, floor_script, env)
                    samples.setdefault((function, f"floor-{variant}"), []).append(floor)
    finally:
        simulator.stop()
        server.stop()
    rows = []
    for function in ("api", "sync_worker", "outbox_sweeper"):
        for variant in ("source", "bytecode"):
            ours = statistics.median(s["seconds"] for s in samples[(function, variant)])
            floor = statistics.median(s["seconds"] for s in samples[(function, f"floor-{variant}")])
            loaded = samples[(function, variant)][0]["loaded"]
            row = Row(
                "cold start",
                f"{function}: import app + first request, {variant}",
                "import boto3, chalice + same clients and calls",
                floor,
                ours,
                "≤ 1.1×",
                ours <= 1.1 * floor,
            )
            if function == "api":
                row.notes.append(f"modules loaded by the api function: {', '.join(loaded)}")
            rows.append(row)
            peak = statistics.median(s["peak_kib"] for s in samples[(function, variant)]) * 1024
            floor_peak = (
                statistics.median(s["peak_kib"] for s in samples[(function, f"floor-{variant}")])
                * 1024
            )
            rows.append(
                Row(
                    "memory",
                    f"{function} cold start peak RSS, {variant}",
                    "floor",
                    floor_peak,
                    peak,
                    unit="B",
                )
            )
    src = statistics.median(s["seconds"] for s in samples[("api", "source")])
    pyc = statistics.median(s["seconds"] for s in samples[("api", "bytecode")])
    rows.append(
        Row(
            "cold start",
            "api: shipped bytecode vs sources only",
            "sources only (Chalice)",
            src,
            pyc,
        )
    )
    return rows


def _sqs_event(arn: str, licence: dict[str, Any]) -> dict[str, Any]:
    body = json.dumps({"licence_id": licence["licence_id"], "version": licence["version"]})
    return {
        "Records": [
            {
                "messageId": f"cold-{licence['licence_id']}",
                "receiptHandle": "cold",
                "body": body,
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": arn,
                "awsRegion": "us-east-1",
            }
        ]
    }


class _EndpointSession:
    """A boto3 session whose clients all talk to the moto server."""

    def __init__(self, session: Any, endpoint: str) -> None:
        self._session, self._endpoint = session, endpoint

    def client(self, name: str) -> Any:
        return self._session.client(name, endpoint_url=self._endpoint)
