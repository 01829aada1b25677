"""The licence change feed: appending entries in commit order and reading them back in pages.

Writing (called by the ingest path, inside its own store transaction)
--------------------------------------------------------------------
`transact_with_feed_entry` reads the counter item (`stream="counter"`, `seq=0`, attribute
`last`, N) with a strongly consistent read, then runs ONE TransactWriteItems holding the
caller's items, an Update of the counter from N to N+1 conditioned on `last = N`, and the Put
of entry `stream="all"`, `seq=N+1`.

Why positions are gap-free for readers:
1. The entry for N+1 and the counter value N+1 commit atomically: neither is ever visible
   without the other, and a cancelled transaction leaves neither (nor the caller's items).
2. A writer can only put N+2 by updating the counter from N+1, so its transaction is accepted
   only after the one that wrote N+1 has committed. DynamoDB serialises transactions on the
   counter item, so commits happen in position order: a slower writer can never commit a LOWER
   position after a faster writer committed a higher one (the slower writer's condition fails
   and it retries with a fresh counter read, getting the next free position).
3. So whenever a strongly consistent read of `stream="all"` sees position P, every position
   below P is already committed and visible to that same read. A reader that remembers the
   highest position it returned and asks for `seq > position` next time can neither skip nor
   repeat an entry. The unfiltered feed reads the table with ConsistentRead, so this holds
   strictly. (All entries share one partition key; at one counter item the write rate is
   bounded by transaction latency anyway, far above a municipality's licence event rate.)

Filtered reads use the GSIs, which DynamoDB propagates asynchronously and cannot read
consistently: a GSI may briefly show N+2 before N+1. Filtered pages therefore stop at the first
entry committed less than `GSI_SETTLE_SECONDS` ago (each entry carries `committed_at`, taken
just before its transaction): a filtered reader is gap-free as long as index propagation takes
less than that window, and sees new entries that much later. This is a bound we document, not
a guarantee DynamoDB gives; consumers that must be strictly complete read unfiltered.

Reading
-------
Every read is a Query on a key (never a Scan) that starts at `seq > position`, so the cost of a
page does not depend on how many entries the table holds:
- unfiltered: one Query on the table, Limit = page size + 1 (the +1 says whether there is more);
- one filter (types, or districts): a k-way merge of one GSI Query per value, each read lazily
  in chunks (see `_Stream`); items read <= returned + k lookahead + the unconsumed part of each
  value's last chunk, at most about 2 x page + 2k;
- both filters: the side with fewer values is merged from its GSI and the other side filtered
  in memory; items examined per page are capped at `EXAMINE_CAP`, and when the cap is reached
  the page ends (possibly empty) with `next` advanced past everything examined, so each request
  stays bounded and a follower still makes progress.
Each page also stays under a byte budget measured on the encoded UTF-8 JSON.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.jsonparse import encode_json, parse_json

ENTRY_STREAM = "all"
COUNTER_STREAM = "counter"
COUNTER_KEY: dict[str, Any] = {"stream": {"S": COUNTER_STREAM}, "seq": {"N": "0"}}
BY_TYPE_INDEX = "by_type"
BY_DISTRICT_INDEX = "by_district"

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# Well below Lambda's 6 MB response limit, and small enough for a slow consumer link.
BYTE_BUDGET = 1_000_000
# Room for the page's envelope (`next` cursor, flags) around the entries.
_ENVELOPE_RESERVE = 1024
GSI_SETTLE_SECONDS = 2.0
EXAMINE_CAP = 2000
# TransactWriteItems takes at most 100 actions; two are ours.
MAX_CALLER_ITEMS = 98

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class TransactionConflict(Exception):
    """One of the caller's items failed its condition; nothing was written.

    `reasons` are the CancellationReasons of the caller's items, in the order given
    (`{"Code": "None"}` for the ones that were fine).
    """

    def __init__(self, reasons: list[dict[str, Any]]) -> None:
        codes = ", ".join(str(r.get("Code")) for r in reasons)
        super().__init__(f"transaction cancelled by the caller's items: [{codes}]")
        self.reasons = reasons


# Codes that mean "try again" rather than "your precondition is false".
_TRANSIENT_CODES = frozenset(
    {"None", "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


def _plain(value: Any) -> Any:
    """The entry's values in the types TypeSerializer accepts, without losing exactness."""
    if isinstance(value, bool) or value is None or isinstance(value, str | int | Decimal):
        return value
    if isinstance(value, float):
        # repr is the shortest text that reads back as this float: the JSON number it came from.
        if not math.isfinite(value):
            raise ValueError("non-finite number in a feed entry")
        return Decimal(repr(value))
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    raise TypeError(f"cannot store {type(value).__name__} in a feed entry")


def normalise_district(value: Any) -> str | None:
    """`"05"`, `5` and `"5"` are one district key; the GSI and the filter must agree."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    # isdecimal, not isdigit: "²" is a digit that int() refuses; and no number of thousands
    # of digits (int() refuses those too), as a query string can carry.
    return str(int(text)) if text.isdecimal() and len(text) <= 4 else text


def entry_item(entry: Mapping[str, Any], seq: int, committed_at_ms: int) -> dict[str, Any]:
    """The DynamoDB item (low-level format) for feed entry `seq`."""
    attrs: dict[str, Any] = {
        "stream": ENTRY_STREAM,
        "seq": seq,
        "committed_at": committed_at_ms,
        "licence_id": entry["licence_id"],
        "licence_type": entry["licence_type"],
        "event_type": entry["event_type"],
        "status": entry["status"],
        "version": entry["version"],
        "changed_at": entry["changed_at"],
        # One string, not a nested map: exact (Decimal-preserving) JSON is smaller in
        # DynamoDB, costs one attribute to read, and is opaque to queries we never make.
        "record_json": encode_json(entry["record"]).decode("utf-8"),
    }
    district = normalise_district(entry.get("district"))
    if district is not None:  # a GSI key must not be empty; without it the entry is unindexed
        attrs["district"] = district
    return {k: _serializer.serialize(_plain(v)) for k, v in attrs.items()}


def _read_counter(client: Any, feed_table: str) -> int:
    response = client.get_item(
        TableName=feed_table,
        Key=COUNTER_KEY,
        ConsistentRead=True,
        ProjectionExpression="#last",
        ExpressionAttributeNames={"#last": "last"},
    )
    last = response.get("Item", {}).get("last")
    return int(last["N"]) if last else 0


def _counter_update(feed_table: str, current: int) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": feed_table,
        "Key": COUNTER_KEY,
        "UpdateExpression": "SET #last = :next",
        "ExpressionAttributeNames": {"#last": "last"},
        "ExpressionAttributeValues": {":next": {"N": str(current + 1)}},
    }
    if current == 0:
        update["ConditionExpression"] = "attribute_not_exists(#last)"
    else:
        update["ConditionExpression"] = "#last = :current"
        update["ExpressionAttributeValues"][":current"] = {"N": str(current)}
    return {"Update": update}


def transact_with_feed_entry(
    client: Any,
    *,
    feed_table: str,
    entry: dict[str, Any],
    items: list[dict[str, Any]],
    attempts: int = 25,
    clock: Callable[[], float] = time.time,
) -> int:
    """Write `items` and append `entry` to the feed in one transaction; return its position.

    `items` are TransactWriteItems actions in the low-level client format. If one of them
    fails its condition, raises TransactionConflict (nothing written). If only our counter
    moved (another writer took the position) or DynamoDB reports transient contention, the
    whole transaction is retried with a fresh counter read, up to `attempts` times; then the
    last ClientError propagates (a 5xx for the sender, who retries).
    """
    if len(items) > MAX_CALLER_ITEMS:
        raise ValueError(f"at most {MAX_CALLER_ITEMS} caller items fit in one transaction")
    for attempt in range(attempts):
        current = _read_counter(client, feed_table)
        position = current + 1
        put = {
            "Put": {
                "TableName": feed_table,
                "Item": entry_item(entry, position, int(clock() * 1000)),
            }
        }
        try:
            client.transact_write_items(
                TransactItems=[*items, _counter_update(feed_table, current), put]
            )
        except client.exceptions.TransactionCanceledException as error:
            reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])
            caller = reasons[: len(items)]
            if any(r.get("Code") not in _TRANSIENT_CODES for r in caller):
                raise TransactionConflict(caller) from None
            ours = reasons[len(items) :]
            retryable = _TRANSIENT_CODES | {"ConditionalCheckFailed"}
            if any(r.get("Code") not in retryable for r in ours) or attempt == attempts - 1:
                raise
            # Full-jitter backoff, capped at 100 ms: the winner has already committed, so the
            # next read is fresh; jitter keeps a crowd of writers from colliding in lockstep.
            # 25 attempts stay within ~3 s, well inside the API's Lambda timeout.
            time.sleep(random.uniform(0, min(0.1, 0.002 * 2**attempt)))  # noqa: S311
            continue
        return position
    raise AssertionError("unreachable: the last attempt returns or raises")


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class FeedFilter:
    types: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()

    @classmethod
    def of(cls, types: Sequence[str] = (), districts: Sequence[str] = ()) -> FeedFilter:
        clean = sorted({normalise_district(d) or "" for d in districts} - {""}, key=_natural)
        return cls(tuple(sorted(set(types))), tuple(clean))

    def canonical(self) -> str:
        return f"types={','.join(self.types)};districts={','.join(self.districts)}"

    def matches(self, item: Mapping[str, Any]) -> bool:
        if self.types and item.get("licence_type", {}).get("S") not in self.types:
            return False
        return not self.districts or item.get("district", {}).get("S") in self.districts


def _natural(text: str) -> tuple[int, str]:
    return (int(text), "") if text.isdigit() else (1 << 30, text)


@dataclass
class FeedPage:
    entries: list[bytes]  # each entry already encoded as UTF-8 JSON
    position: int  # resume after this position
    has_more: bool
    items_read: int = 0
    sequences: list[int] = field(default_factory=list)


class _Stream:
    """One Query (table or one GSI value) read lazily in growing chunks, in `seq` order."""

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        after: int,
        first_chunk: int,
        need: Callable[[], int],
        index: str | None = None,
        key_name: str = "stream",
        key_value: str = ENTRY_STREAM,
    ) -> None:
        self._client, self._table, self._index = client, table, index
        self._key_name, self._key_value = key_name, key_value
        self._after = after
        self._chunk = max(1, first_chunk)
        self._need = need
        self._buffer: list[dict[str, Any]] = []
        self._pos = 0
        self._start_key: dict[str, Any] | None = None
        self._exhausted = False
        self.items_read = 0

    def peek(self) -> dict[str, Any] | None:
        if self._pos >= len(self._buffer) and not self._exhausted:
            self._fill()
        return self._buffer[self._pos] if self._pos < len(self._buffer) else None

    def pop(self) -> None:
        self._pos += 1

    def _fill(self) -> None:
        # Never ask for more than the page can still take (+1 to learn whether there is more).
        limit = max(1, min(self._chunk, self._need() + 1))
        self._chunk *= 2
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "#k = :k AND #seq > :after",
            "ExpressionAttributeNames": {"#k": self._key_name, "#seq": "seq"},
            "ExpressionAttributeValues": {
                ":k": {"S": self._key_value},
                ":after": {"N": str(self._after)},
            },
            "Limit": limit,
            "ScanIndexForward": True,
        }
        if self._index is None:
            args["ConsistentRead"] = True
        else:
            args["IndexName"] = self._index
        if self._start_key is not None:
            args["ExclusiveStartKey"] = self._start_key
        response = self._client.query(**args)
        self._buffer, self._pos = response.get("Items", []), 0
        self.items_read += len(self._buffer)
        self._start_key = response.get("LastEvaluatedKey")
        self._exhausted = self._start_key is None


def _merged(streams: list[_Stream]) -> Iterator[dict[str, Any]]:
    """Items of several seq-ordered streams in global seq order (seq is unique)."""
    heap: list[tuple[int, int]] = []
    for number, stream in enumerate(streams):
        head = stream.peek()
        if head is not None:
            heap.append((int(head["seq"]["N"]), number))
    heapq.heapify(heap)
    while heap:
        _, number = heapq.heappop(heap)
        stream = streams[number]
        item = stream.peek()
        assert item is not None  # noqa: S101 - a stream on the heap has a head
        stream.pop()
        yield item
        head = stream.peek()
        if head is not None:
            heapq.heappush(heap, (int(head["seq"]["N"]), number))


def public_entry(item: Mapping[str, Any]) -> dict[str, Any]:
    """A stored entry as consumers see it."""
    plain = {k: _deserializer.deserialize(v) for k, v in item.items()}
    return {
        "sequence": int(plain["seq"]),
        "licence_id": plain["licence_id"],
        "licence_type": plain["licence_type"],
        "event_type": plain["event_type"],
        "status": plain["status"],
        "version": plain["version"],
        "changed_at": plain["changed_at"],
        "licence": parse_json(plain["record_json"]),
    }


def read_page(
    client: Any,
    *,
    feed_table: str,
    after: int,
    limit: int = DEFAULT_LIMIT,
    feed_filter: FeedFilter = FeedFilter(),
    byte_budget: int = BYTE_BUDGET,
    settle_seconds: float = GSI_SETTLE_SECONDS,
    examine_cap: int = EXAMINE_CAP,
    clock: Callable[[], float] = time.time,
) -> FeedPage:
    """Up to `limit` entries after `after`, in commit order, within `byte_budget` bytes."""
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be 1..{MAX_LIMIT}")
    page = FeedPage(entries=[], position=after, has_more=False)
    budget = byte_budget - _ENVELOPE_RESERVE

    def need() -> int:
        return limit - len(page.entries)

    gsi = bool(feed_filter.types or feed_filter.districts)
    if not gsi:
        streams = [_Stream(client, feed_table, after=after, first_chunk=limit + 1, need=need)]
    else:
        use_types = bool(feed_filter.types) and (
            not feed_filter.districts or len(feed_filter.types) <= len(feed_filter.districts)
        )
        index, key_name, values = (
            (BY_TYPE_INDEX, "licence_type", feed_filter.types)
            if use_types
            else (BY_DISTRICT_INDEX, "district", feed_filter.districts)
        )
        first = math.ceil((limit + 1) / len(values))
        streams = [
            _Stream(
                client,
                feed_table,
                after=after,
                first_chunk=first,
                need=need,
                index=index,
                key_name=key_name,
                key_value=value,
            )
            for value in values
        ]
    settled_before_ms = int((clock() - settle_seconds) * 1000) if gsi else None
    size = 0
    for examined, item in enumerate(_merged(streams), start=1):
        seq = int(item["seq"]["N"])
        if settled_before_ms is not None and int(item["committed_at"]["N"]) > settled_before_ms:
            break  # an index may not show every lower position yet: stop, come back later
        if len(page.entries) >= limit:
            page.has_more = True
            break
        if feed_filter.matches(item):
            encoded = encode_json(public_entry(item))
            # A page always takes one entry, or one oversized record would stall the feed.
            if page.entries and size + len(encoded) + 1 > budget:
                page.has_more = True
                break
            page.entries.append(encoded)
            page.sequences.append(seq)
            size += len(encoded) + 1
        page.position = seq
        if examined >= examine_cap:
            page.has_more = True
            break
    page.items_read = sum(s.items_read for s in streams)
    return page


# --------------------------------------------------------------------------- JSON


def page_body(page: FeedPage, next_cursor: str) -> bytes:
    """The page's JSON body around its already-encoded entries."""
    tail = encode_json({"next": next_cursor, "has_more": page.has_more})
    return b'{"entries":[' + b",".join(page.entries) + b"]," + tail[1:]


def etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
