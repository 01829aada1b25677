"""DynamoDB adapter: licence state, history, idempotency records and the outbox marker.

All writes of one accepted webhook go in ONE TransactWriteItems (plus the feed's counter and
entry, added by chalicelib.feed): the idempotency record (only if absent), the state (only
if the version we read is still the stored one), the history event, and the outbox marker
on the state item. Either all of it is recorded or none of it, and the conditions make two
deliveries racing each other produce one effect.

Items use the low-level client format, because the feed appends to the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib import feed
from chalicelib.jsonparse import encode_json, parse_json

STATE_SK = "STATE"
OUTBOX_PK = "OUTBOX"
TRACKING_INDEX = "by_tracking_code"
OUTBOX_INDEX = "outbox"
IDEMPOTENCY_DAYS = 30

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


# The canonical licence travels as one exact-JSON string attribute, not a nested map: it is
# smaller in DynamoDB, one attribute to read and write, and never queried inside.
LICENCE_ATTRIBUTE = "licence_json"


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in values.items()}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    plain = {k: _deserializer.deserialize(v) for k, v in item.items()}
    text = plain.pop(LICENCE_ATTRIBUTE, None)
    if text is not None:
        plain["licence"] = parse_json(text)
    return plain


def licence_text(licence: Mapping[str, Any]) -> str:
    return encode_json(licence).decode("utf-8")


def licence_pk(licence_id: str) -> str:
    return f"LIC#{licence_id}"


def history_sk(received_at: str, webhook_id: str) -> str:
    return f"EVT#{received_at}#{webhook_id}"


class CommitConflict(Exception):
    """A condition failed; `codes` are the cancellation codes of our items, in order."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(", ".join(codes))
        self.codes = codes

    @property
    def duplicate(self) -> bool:
        """The idempotency record (always our first item) already exists."""
        return bool(self.codes) and self.codes[0] == "ConditionalCheckFailed"


@dataclass(frozen=True)
class IdempotencyRecord:
    body_sha256: str
    status: int
    response: dict[str, Any]


@dataclass(frozen=True)
class Tables:
    licences: str
    feed: str
    idempotency: str


# --- reads ----------------------------------------------------------------------------------


def get_idempotency(client: Any, table: str, key: str) -> IdempotencyRecord | None:
    item = client.get_item(TableName=table, Key={"key": {"S": key}}, ConsistentRead=True).get(
        "Item"
    )
    if item is None:
        return None
    plain = from_item(item)
    return IdempotencyRecord(
        body_sha256=str(plain["body_sha256"]),
        status=int(plain["status"]),
        response=dict(plain["response"]),
    )


def get_state(client: Any, table: str, licence_id: str) -> dict[str, Any] | None:
    item = client.get_item(
        TableName=table,
        Key={"pk": {"S": licence_pk(licence_id)}, "sk": {"S": STATE_SK}},
        ConsistentRead=True,
    ).get("Item")
    return None if item is None else from_item(item)


def get_history(client: Any, table: str, licence_id: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    args: dict[str, Any] = {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND begins_with(sk, :evt)",
        "ExpressionAttributeValues": {":pk": {"S": licence_pk(licence_id)}, ":evt": {"S": "EVT#"}},
        "ConsistentRead": True,
        "ScanIndexForward": True,
    }
    while True:
        page = client.query(**args)
        events.extend(from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return events
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def get_state_by_tracking_code(client: Any, table: str, code: str) -> dict[str, Any] | None:
    page = client.query(
        TableName=table,
        IndexName=TRACKING_INDEX,
        KeyConditionExpression="tracking_code = :code",
        ExpressionAttributeValues={":code": {"S": code}},
        Limit=5,
    )
    states = [from_item(i) for i in page.get("Items", []) if i.get("sk", {}).get("S") == STATE_SK]
    return states[0] if states else None


# --- the commit -----------------------------------------------------------------------------


def idempotency_put(
    table: str, key: str, body_sha256: str, response: Mapping[str, Any], now_epoch: int
) -> dict[str, Any]:
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(
                {
                    "key": key,
                    "body_sha256": body_sha256,
                    "status": 202,
                    "response": dict(response),
                    "created_at": now_epoch,
                    "expires_at": now_epoch + IDEMPOTENCY_DAYS * 86400,
                }
            ),
            "ConditionExpression": "attribute_not_exists(#key)",
            "ExpressionAttributeNames": {"#key": "key"},
        }
    }


def state_update(
    table: str,
    *,
    licence_id: str,
    expected_version: int | None,
    licence: Mapping[str, Any],
    version: int,
    status: str,
    licence_type: str,
    district: str,
    tracking_code: str,
    updated_at: str,
    received_at: str,
) -> dict[str, Any]:
    """Set the new state and the outbox marker, if the stored version is still the one read.

    The sync worker's fields (synced_version, portal_licence_id) stay; the previous
    version's error and reasons no longer describe what is queued, so they go.
    """
    values = {
        ":licence": licence_text(licence),
        ":version": version,
        ":status": status,
        ":type": licence_type,
        ":district": district,
        ":tracking": tracking_code,
        ":updated": updated_at,
        ":received": received_at,
        ":queued": "queued",
        ":outbox": OUTBOX_PK,
        ":outbox_at": received_at,
    }
    if expected_version is None:
        condition = "attribute_not_exists(pk)"
    else:
        condition = "#version = :expected"
        values[":expected"] = expected_version
    return {
        "Update": {
            "TableName": table,
            "Key": {"pk": {"S": licence_pk(licence_id)}, "sk": {"S": STATE_SK}},
            "UpdateExpression": (
                "SET licence_json = :licence, #version = :version, #status = :status, "
                "licence_type = :type, district = :district, tracking_code = :tracking, "
                "updated_at = :updated, received_at = :received, sync_status = :queued, "
                "outbox_pk = :outbox, outbox_at = :outbox_at "
                "REMOVE sync_error, sync_reasons"
            ),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": {"#version": "version", "#status": "status"},
            "ExpressionAttributeValues": to_item(values),
        }
    }


def history_put(table: str, *, licence_id: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    item = {
        "pk": licence_pk(licence_id),
        "sk": history_sk(str(entry["received_at"]), str(entry["webhook_id"])),
        **{k: v for k, v in entry.items() if k != "licence"},
    }
    if "licence" in entry:
        item[LICENCE_ATTRIBUTE] = licence_text(entry["licence"])
    return {
        "Put": {
            "TableName": table,
            "Item": to_item(item),
            "ConditionExpression": "attribute_not_exists(sk)",
        }
    }


def commit(
    client: Any,
    tables: Tables,
    items: list[dict[str, Any]],
    feed_entry: dict[str, Any] | None,
) -> int | None:
    """Run the transaction (with the feed entry when given); return the feed position.

    Raises CommitConflict when one of our conditions failed (nothing was written).
    """
    if feed_entry is not None:
        try:
            return feed.transact_with_feed_entry(
                client, feed_table=tables.feed, entry=feed_entry, items=items
            )
        except feed.TransactionConflict as conflict:
            raise CommitConflict([str(r.get("Code")) for r in conflict.reasons]) from None
    try:
        client.transact_write_items(TransactItems=items)
    except client.exceptions.TransactionCanceledException as error:
        reasons = error.response.get("CancellationReasons", [])
        raise CommitConflict([str(r.get("Code")) for r in reasons]) from None
    return None


# --- the outbox -----------------------------------------------------------------------------


def clear_outbox(client: Any, table: str, licence_id: str, outbox_at: str) -> bool:
    """Remove the marker if it is still ours; False when a newer event has re-set it."""
    try:
        client.update_item(
            TableName=table,
            Key={"pk": {"S": licence_pk(licence_id)}, "sk": {"S": STATE_SK}},
            UpdateExpression="REMOVE outbox_pk, outbox_at",
            ConditionExpression="outbox_at = :at",
            ExpressionAttributeValues={":at": {"S": outbox_at}},
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True


def outbox_due(client: Any, table: str, before: str, limit: int) -> Iterator[tuple[str, str]]:
    """(licence_id, outbox_at) of markers set before `before`, oldest first."""
    args: dict[str, Any] = {
        "TableName": table,
        "IndexName": OUTBOX_INDEX,
        "KeyConditionExpression": "outbox_pk = :outbox AND outbox_at < :before",
        "ExpressionAttributeValues": {":outbox": {"S": OUTBOX_PK}, ":before": {"S": before}},
        "ScanIndexForward": True,
        "Limit": min(limit, 100),
    }
    seen = 0
    while seen < limit:
        page = client.query(**args)
        for item in page.get("Items", []):
            pk = item["pk"]["S"]
            yield pk.removeprefix("LIC#"), item["outbox_at"]["S"]
            seen += 1
            if seen >= limit:
                return
        if "LastEvaluatedKey" not in page:
            return
        args["ExclusiveStartKey"] = page["LastEvaluatedKey"]
