"""The write side: positions, exact values, the caller's conditions, and concurrent writers."""

from __future__ import annotations

import random
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import TypeDeserializer

from chalicelib.feed import (
    COUNTER_KEY,
    FeedFilter,
    TransactionConflict,
    read_page,
    transact_with_feed_entry,
)
from chalicelib.jsonparse import parse_json
from tests.feed.conftest import ZWNJ, FeedDb, feed_entry


def _stored(db: FeedDb, seq: int) -> dict[str, Any]:
    item = db.client.get_item(
        TableName=db.table, Key={"stream": {"S": "all"}, "seq": {"N": str(seq)}}
    )["Item"]
    return {k: TypeDeserializer().deserialize(v) for k, v in item.items()}


def test_positions_start_at_one_and_values_are_stored_exactly(db: FeedDb) -> None:
    assert [db.append(feed_entry(n)) for n in range(1, 4)] == [1, 2, 3]
    counter = db.client.get_item(TableName=db.table, Key=COUNTER_KEY)["Item"]
    assert counter["last"] == {"N": "3"}
    stored = _stored(db, 2)
    assert stored["licence_id"] == "TM-05-1403-000002"
    assert stored["district"] == "5"
    assert stored["licence_type"] == "FOOD_TRUCK"
    assert "record" not in stored  # one exact-JSON string, not a nested map
    record = parse_json(stored["record_json"])
    assert record["business"]["name"] == f"کافه{ZWNJ}ی سیار 2"
    assert record["fees"][0]["amount_rials"] == Decimal("123456789012345678901234567890")
    assert record["location"]["coordinates"]["lat"] == Decimal("35.6891975")


def test_district_key_is_normalised_so_filters_and_index_agree(db: FeedDb) -> None:
    entry = feed_entry(1, district=7)
    entry["district"] = "07"
    db.append(entry)
    assert _stored(db, 1)["district"] == "7"


def test_caller_items_commit_with_the_entry(db: FeedDb) -> None:
    put = {
        "Put": {
            "TableName": db.table,
            "Item": {"stream": {"S": "test-licence"}, "seq": {"N": "1"}, "v": {"N": "1"}},
            "ConditionExpression": "attribute_not_exists(#s)",
            "ExpressionAttributeNames": {"#s": "stream"},
        }
    }
    seq = transact_with_feed_entry(db.client, feed_table=db.table, entry=feed_entry(1), items=[put])
    assert seq == 1
    with pytest.raises(TransactionConflict) as raised:
        transact_with_feed_entry(db.client, feed_table=db.table, entry=feed_entry(2), items=[put])
    assert [r["Code"] for r in raised.value.reasons] == ["ConditionalCheckFailed"]
    # Nothing of the failed transaction is visible: no entry 2, counter still 1.
    page = read_page(db.client, feed_table=db.table, after=0)
    assert page.sequences == [1]
    counter = db.client.get_item(TableName=db.table, Key=COUNTER_KEY)["Item"]
    assert counter["last"] == {"N": "1"}


def test_reasons_are_the_callers_items_in_order(db: FeedDb) -> None:
    fine = {
        "ConditionCheck": {
            "TableName": db.table,
            "Key": {"stream": {"S": "x"}, "seq": {"N": "1"}},
            "ConditionExpression": "attribute_not_exists(#s)",
            "ExpressionAttributeNames": {"#s": "stream"},
        }
    }
    failing = {
        "ConditionCheck": {
            "TableName": db.table,
            "Key": {"stream": {"S": "y"}, "seq": {"N": "1"}},
            "ConditionExpression": "attribute_exists(#s)",
            "ExpressionAttributeNames": {"#s": "stream"},
        }
    }
    with pytest.raises(TransactionConflict) as raised:
        transact_with_feed_entry(
            db.client, feed_table=db.table, entry=feed_entry(1), items=[fine, failing]
        )
    assert [r["Code"] for r in raised.value.reasons] == ["None", "ConditionalCheckFailed"]


def test_a_writer_that_loses_the_counter_race_retries_and_takes_the_next_position(
    db: FeedDb,
) -> None:
    # Another writer commits position 1 between our counter read and our transaction:
    # the hook runs just before our TransactWriteItems is sent, once.
    import boto3

    rival = boto3.client("dynamodb")
    fired: list[int] = []

    def rival_commits_first(**_: Any) -> None:
        if not fired:
            fired.append(
                transact_with_feed_entry(rival, feed_table=db.table, entry=feed_entry(99), items=[])
            )

    db.client.meta.events.register("before-call.dynamodb.TransactWriteItems", rival_commits_first)
    try:
        ours = db.append(feed_entry(1))
    finally:
        db.client.meta.events.unregister(
            "before-call.dynamodb.TransactWriteItems", rival_commits_first
        )
    assert fired == [1]
    assert ours == 2
    assert _stored(db, 1)["licence_id"] == "TM-05-1403-000099"
    assert _stored(db, 2)["licence_id"] == "TM-05-1403-000001"


def _small_entry(number: int, licence_type: str = "FOOD_TRUCK") -> dict[str, Any]:
    # Small records: moto copies the whole table inside every transaction.
    entry = feed_entry(number, licence_type)
    entry["record"] = {"licence_id": entry["licence_id"], "name": f"کافه{ZWNJ}ی {number}"}
    return entry


def test_concurrent_writers_and_a_follower_see_every_position_once_in_order(
    db: FeedDb, serialised_moto: None
) -> None:
    writers, per_writer = 5, 20
    total = writers * per_writer
    assigned: list[int] = []
    assigned_lock = threading.Lock()
    errors: list[BaseException] = []
    seen: list[int] = []
    seen_ids: list[str] = []
    done = threading.Event()

    def write(worker: int) -> None:
        try:
            for n in range(per_writer):
                seq = db.append(_small_entry(worker * 1000 + n))
                with assigned_lock:
                    assigned.append(seq)
                time.sleep(random.uniform(0, 0.002))
        except BaseException as error:
            errors.append(error)

    def follow() -> None:
        # Follows `next` with small pages while the writers are still writing.
        position = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            page = read_page(db.client, feed_table=db.table, after=position, limit=7)
            seen.extend(page.sequences)
            seen_ids.extend(e.decode().split('"licence_id":"')[1][:17] for e in page.entries)
            position = page.position
            if done.is_set() and not page.has_more and position >= total:
                return
            time.sleep(0.002)

    transactions: list[int] = []

    def count_transaction(**_: Any) -> None:
        transactions.append(1)

    db.client.meta.events.register("before-call.dynamodb.TransactWriteItems", count_transaction)
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    reader = threading.Thread(target=follow)
    reader.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()
    assert not errors
    # The writers really raced: some lost the counter and retried.
    assert len(transactions) > total
    assert sorted(assigned) == list(range(1, total + 1))
    assert seen == list(range(1, total + 1))
    expected_ids = {
        f"TM-05-1403-{w * 1000 + n:06d}" for w in range(writers) for n in range(per_writer)
    }
    assert len(seen_ids) == total
    assert set(seen_ids) == expected_ids


def test_concurrent_writers_under_a_type_filter_keep_order(
    db: FeedDb, serialised_moto: None
) -> None:
    types = ["FOOD_TRUCK", "KINDERGARTEN", "CAR_WASH"]

    def write(worker: int) -> None:
        for n in range(15):
            db.append(_small_entry(worker * 100 + n, types[(worker + n) % 3]))

    threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wanted = FeedFilter.of(["FOOD_TRUCK", "CAR_WASH"])
    position, seen = 0, []
    while True:
        page = read_page(
            db.client, feed_table=db.table, after=position, limit=4, feed_filter=wanted
        )
        seen.extend(page.sequences)
        position = page.position
        if not page.has_more:
            break
    everything = read_page(db.client, feed_table=db.table, after=0, limit=500)
    expected = [
        seq
        for seq, raw in zip(everything.sequences, everything.entries, strict=True)
        if b'"licence_type":"KINDERGARTEN"' not in raw
    ]
    assert seen == expected
    assert len(everything.sequences) == 60
