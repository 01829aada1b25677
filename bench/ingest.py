"""Ingest: the whole webhook handler on moto vs the same AWS calls made directly.

Ours: `app(event, context)` with an API Gateway proxy event (a signed, never-seen licence),
exactly as Lambda calls it: routing, signature, archive, parse, normalise, validate,
lifecycle, idempotency read, state read, feed counter read, one transaction, SQS send,
outbox clear. The floor: the same seven AWS calls, with items of the same shape and size,
made with boto3 directly on the same moto tables. Rounds interleaved, so both see tables
of the same size (moto's transactions slow down as tables grow).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import itertools
import json
import time
from datetime import UTC, datetime
from typing import Any

from bench.report import Row, interleaved

SOURCE = "district-bench"
SECRET = "whsec_" + base64.b64encode(b"benchmark source secret, 32 byte").decode()
_serial = itertools.count(1)


def _bodies(count: int) -> list[bytes]:
    from tests.examples_index import valid_examples

    firsts = []
    for path in valid_examples():
        # Plain floats: they print back exactly as the example wrote them.
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc["event_type"] in ("licence.applied", "licence.issued"):
            firsts.append(doc)
    bodies = []
    for i in range(count):
        n = next(_serial)
        doc = copy.deepcopy(firsts[i % len(firsts)])
        doc["source"] = SOURCE
        doc["event_id"] = f"bench-event-{n:08d}"
        licence = doc["licence"]
        licence["licence_id"] = f"TM-{licence['issuing']['district']:02d}-1405-{n:06d}"
        licence["tracking_code"] = f"{8_000_000_000 + n}"
        licence["version"] = 1
        bodies.append(json.dumps(doc, ensure_ascii=False).encode())
    return bodies


def proxy_event(body: bytes, webhook_id: str, stage: str = "bench") -> dict[str, Any]:
    """The API Gateway proxy event Lambda hands the API function for a signed webhook."""
    from standardwebhooks.webhooks import Webhook

    now = datetime.now(UTC)
    headers = {
        "content-type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(SECRET).sign(webhook_id, now, body),
    }
    return {
        "resource": "/v1/webhooks/{source}",
        "path": f"/v1/webhooks/{SOURCE}",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"source": SOURCE},
        "stageVariables": None,
        "body": body.decode(),
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/v1/webhooks/{source}",
            "httpMethod": "POST",
            "stage": stage,
            "requestId": webhook_id,
            "identity": {"sourceIp": "127.0.0.1"},
        },
    }


class _Context:
    function_name = "licence-bridge-bench"
    aws_request_id = "bench"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def _bare_calls(clients: dict[str, Any], names: dict[str, str], body: bytes, n: int) -> None:
    """The AWS calls the handler makes for one accepted webhook, made directly."""
    from boto3.dynamodb.types import TypeSerializer

    from chalicelib.jsonparse import encode_json, parse_json

    ser = TypeSerializer().serialize
    doc = parse_json(body)
    licence = doc["licence"]
    lid, now = licence["licence_id"], datetime.now(UTC).isoformat()
    key = f"{SOURCE}#bare-{n}"
    ddb = clients["dynamodb"]
    clients["s3"].put_object(
        Bucket=names["bucket"],
        Key=f"raw/bare/{n}",
        Body=body,
        ServerSideEncryption="aws:kms",
        Metadata={"webhook-id": f"bare-{n}"},
    )
    ddb.get_item(TableName=names["idem"], Key={"key": {"S": key}}, ConsistentRead=True)
    ddb.get_item(
        TableName=names["licences"],
        Key={"pk": {"S": f"LIC#{lid}"}, "sk": {"S": "STATE"}},
        ConsistentRead=True,
    )
    counter = ddb.get_item(
        TableName=names["feed"],
        Key={"stream": {"S": "counter"}, "seq": {"N": "0"}},
        ConsistentRead=True,
    ).get("Item")
    last = int(counter["last"]["N"]) if counter else 0
    record = {"S": encode_json(licence).decode()}  # stored as exact JSON text, like ours
    ddb.transact_write_items(
        TransactItems=[
            {
                "Put": {
                    "TableName": names["idem"],
                    "Item": {
                        "key": {"S": key},
                        "body_sha256": {"S": hashlib.sha256(body).hexdigest()},
                        "response": ser({"licence_id": lid, "applied": True}),
                        "expires_at": {"N": "9"},
                    },
                    "ConditionExpression": "attribute_not_exists(#k)",
                    "ExpressionAttributeNames": {"#k": "key"},
                }
            },
            {
                "Put": {
                    "TableName": names["licences"],
                    "Item": {
                        "pk": {"S": f"LIC#{lid}"},
                        "sk": {"S": "STATE"},
                        "licence_json": record,
                        "version": {"N": "1"},
                        "status": {"S": licence["status"]},
                        "tracking_code": {"S": licence["tracking_code"]},
                        "sync_status": {"S": "queued"},
                        "outbox_pk": {"S": "OUTBOX"},
                        "outbox_at": {"S": now},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": names["licences"],
                    "Item": {
                        "pk": {"S": f"LIC#{lid}"},
                        "sk": {"S": f"EVT#{now}#bare-{n}"},
                        "licence_json": record,
                        "event_type": {"S": doc["event_type"]},
                        "applied": {"BOOL": True},
                    },
                }
            },
            {
                "Update": {
                    "TableName": names["feed"],
                    "Key": {"stream": {"S": "counter"}, "seq": {"N": "0"}},
                    "UpdateExpression": "SET #l = :n",
                    "ConditionExpression": "attribute_not_exists(#l) OR #l = :o",
                    "ExpressionAttributeNames": {"#l": "last"},
                    "ExpressionAttributeValues": {
                        ":n": {"N": str(last + 1)},
                        ":o": {"N": str(last)},
                    },
                }
            },
            {
                "Put": {
                    "TableName": names["feed"],
                    "Item": {
                        "stream": {"S": "all"},
                        "seq": {"N": str(last + 1)},
                        "record_json": record,
                        "licence_id": {"S": lid},
                        "licence_type": {"S": licence["licence_type"]},
                        "district": {"S": str(licence["issuing"]["district"])},
                    },
                }
            },
        ]
    )
    clients["sqs"].send_message(
        QueueUrl=names["queue"], MessageBody=json.dumps({"licence_id": lid, "version": 1})
    )
    ddb.update_item(
        TableName=names["licences"],
        Key={"pk": {"S": f"LIC#{lid}"}, "sk": {"S": "STATE"}},
        UpdateExpression="REMOVE outbox_pk, outbox_at",
        ConditionExpression="outbox_at = :a",
        ExpressionAttributeValues={":a": {"S": now}},
    )


def run(rounds: int = 5, per_round: int = 30) -> list[Row]:
    from bench.moto_stack import moto_stack
    from chalicelib import wiring

    with moto_stack() as outputs:
        secrets = wiring.client("secretsmanager")
        secrets.create_secret(
            Name=f"{outputs['SecretsPrefix']}/sources/{SOURCE}",
            SecretString=json.dumps(
                {"secrets": [SECRET], "licence_types": ["*"], "districts": ["*"]}
            ),
        )
        from app import app

        clients = {name: wiring.client(name) for name in ("dynamodb", "s3", "sqs")}
        names = {
            "bucket": outputs["ArchiveBucket"],
            "idem": outputs["IdempotencyTable"],
            "licences": outputs["LicencesTable"],
            "feed": outputs["FeedTable"],
            "queue": outputs["SyncQueueUrl"],
        }
        webhook_ids = itertools.count(1)

        def ours() -> list[float]:
            events = [proxy_event(b, f"msg_{next(webhook_ids)}") for b in _bodies(per_round)]
            times = []
            for event in events:
                start = time.perf_counter()
                response = app(event, _Context())
                times.append(time.perf_counter() - start)
                assert response["statusCode"] == 202, response
            return times

        def bare() -> list[float]:
            times = []
            for body in _bodies(per_round):
                n = next(webhook_ids)
                start = time.perf_counter()
                _bare_calls(clients, names, body, n)
                times.append(time.perf_counter() - start)
            return times

        ours(), bare()  # warm: clients, secrets cache, validators
        timings = interleaved({"ours": ours, "bare": bare}, rounds)
    return [
        Row(
            "ingest",
            "one accepted webhook, whole handler on moto",
            "same AWS calls, bare",
            timings["bare"],
            timings["ours"],
            "≤ 1.3×",
            timings["ours"] <= 1.3 * timings["bare"],
        ),
    ]
