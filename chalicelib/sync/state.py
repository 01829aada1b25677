"""The sync fields on a licence's state item (docs/DESIGN.md), written only with conditions.

Every write is conditional on synced_version: a slow worker holding an older version can
never lower it, and a failure recorded for version N never overwrites the state once a
newer version was stored (that version's own message will report on itself).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from chalicelib import store

_NOT_NEWER = "(attribute_not_exists(synced_version) OR synced_version < :v)"


def _key(licence_id: str) -> dict[str, Any]:
    return {"pk": {"S": store.licence_pk(licence_id)}, "sk": {"S": store.STATE_SK}}


def record_synced(
    client: Any,
    table: str,
    *,
    licence_id: str,
    version: int,
    portal_licence_id: int,
    snapshot: Mapping[str, str],
    synced_at: str,
) -> bool:
    """Record that the portal holds `version`. False when a newer version was already
    recorded. sync_status becomes `synced` only if `version` is still the current one."""
    values = {
        ":v": version,
        ":pid": portal_licence_id,
        ":snap": dict(snapshot),
        ":at": synced_at,
        ":synced": "synced",
    }
    base = (
        "SET portal_licence_id = :pid, synced_version = :v, portal_snapshot = :snap, "
        "synced_at = :at"
    )
    attempts = (
        (
            base + ", sync_status = :synced REMOVE sync_error, sync_reasons",
            f"attribute_exists(pk) AND #version = :v AND {_NOT_NEWER}",
            values,
        ),
        (
            base,
            f"attribute_exists(pk) AND {_NOT_NEWER}",
            {k: values[k] for k in values if k != ":synced"},
        ),
    )
    for expression, condition, attribute_values in attempts:
        arguments: dict[str, Any] = {
            "TableName": table,
            "Key": _key(licence_id),
            "UpdateExpression": expression,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": store.to_item(attribute_values),
        }
        if "#version" in condition:
            arguments["ExpressionAttributeNames"] = {"#version": "version"}
        try:
            client.update_item(**arguments)
        except client.exceptions.ConditionalCheckFailedException:
            continue
        return True
    return False


def record_failure(
    client: Any,
    table: str,
    *,
    licence_id: str,
    version: int,
    sync_status: str,
    error: str,
    reasons: Sequence[Mapping[str, str]] = (),
) -> bool:
    """Set sync_status (retrying | rejected | dead_lettered) with the error (and reasons)."""
    values: dict[str, Any] = {":v": version, ":s": sync_status, ":e": error[:1000]}
    expression = "SET sync_status = :s, sync_error = :e"
    if reasons:
        values[":r"] = [dict(r) for r in reasons]
        expression += ", sync_reasons = :r"
    else:
        expression += " REMOVE sync_reasons"
    try:
        client.update_item(
            TableName=table,
            Key=_key(licence_id),
            UpdateExpression=expression,
            ConditionExpression=f"attribute_exists(pk) AND #version = :v AND {_NOT_NEWER}",
            ExpressionAttributeNames={"#version": "version"},
            ExpressionAttributeValues=store.to_item(values),
        )
    except client.exceptions.ConditionalCheckFailedException:
        return False
    return True
