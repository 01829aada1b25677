"""Fast checks of the local-stack parts that need no processes: the data set and the poller."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from chalicelib.identifiers import is_legal_id, is_national_id
from chalicelib.licence_types import CODES
from chalicelib.validation import validate_event
from infra.local import dataset as ds
from infra.local.poller import LambdaContext, Poller, failed_ids, sqs_event


@pytest.fixture(scope="module")
def stream() -> ds.Dataset:
    return ds.build_dataset(1000, seed=1405)


def _frozen_clock(now: datetime) -> tuple[type[datetime], type[date]]:
    """datetime and date classes whose now()/today()/utcnow() say `now` (for ds's globals);
    instances of the real classes still pass isinstance against them."""

    class Meta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, cls.__mro__[1])

    class FrozenDatetime(datetime, metaclass=Meta):
        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return now.astimezone(tz) if tz else now.replace(tzinfo=None)

        @classmethod
        def utcnow(cls) -> Any:
            return now.astimezone(UTC).replace(tzinfo=None)

        @classmethod
        def today(cls) -> Any:
            return now.replace(tzinfo=None)

    class FrozenDate(date, metaclass=Meta):
        @classmethod
        def today(cls) -> Any:
            return now.date()

    return FrozenDatetime, FrozenDate


def _bytes(dataset: ds.Dataset) -> list[tuple[str, bytes]]:
    return [(d.webhook_id, d.body) for d in dataset.deliveries]


def test_stream_is_big_real_and_deterministic(
    stream: ds.Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same seed gives the same bytes whatever the clock says. First the real clock, across
    # a second boundary (a stream that read the clock differed here ~13% of the time) ...
    second = int(time.time())
    while int(time.time()) == second:
        time.sleep(0.05)
    assert _bytes(ds.build_dataset(1000, seed=1405)) == _bytes(stream)
    # ... then clocks days and years away, before and after the anchor.
    for now in (
        datetime(2031, 3, 20, 23, 59, 59, tzinfo=ds.TEHRAN),
        datetime.now(ds.TEHRAN) + timedelta(days=1, seconds=1),
        ds.DEFAULT_ANCHOR - timedelta(days=400),
    ):
        frozen_datetime, frozen_date = _frozen_clock(now)
        with monkeypatch.context() as patch:
            patch.setattr(ds, "datetime", frozen_datetime)
            patch.setattr(ds, "date", frozen_date)
            assert vars(ds)["datetime"].now(ds.TEHRAN) == now  # the patch is in force
            assert _bytes(ds.build_dataset(1000, seed=1405)) == _bytes(stream), now
    valid = [d for d in stream.deliveries if d.expect == "accept" and d.duplicate_of is None]
    assert len(valid) >= 1000
    assert {d.licence_type for d in valid} == set(CODES)
    lifecycle = {d.event_type for d in valid}
    assert {f"licence.{e}" for e in ds.STATUS_AFTER} | {"licence.step_completed"} <= lifecycle
    if (ds.DATA / "names" / "family_names_fa.txt").exists():
        assert "names/family_names_fa.txt" in stream.sources_used


def test_the_timeline_ends_at_the_anchor(stream: ds.Dataset) -> None:
    def occurred(dataset: ds.Dataset) -> list[datetime]:
        return [
            datetime.fromisoformat(json.loads(d.body)["occurred_at"]) for d in dataset.deliveries
        ]

    assert datetime.now(ds.TEHRAN) > ds.DEFAULT_ANCHOR  # a constant in the past
    assert max(occurred(stream)) <= ds.DEFAULT_ANCHOR
    for delivery in stream.deliveries:
        validity = json.loads(delivery.body)["licence"].get("validity", {})
        issued = validity.get("issued_on", "")
        if delivery.expect == "accept" and issued[:2] == "20":  # Gregorian, not a Jalali quirk
            assert date.fromisoformat(issued) <= ds.DEFAULT_ANCHOR.date()
            assert date.fromisoformat(validity["valid_until"]) > date.fromisoformat(issued)
    # An explicit anchor moves the whole timeline with it, and is deterministic too.
    later = ds.DEFAULT_ANCHOR + timedelta(days=3650)
    moved = ds.build_dataset(200, seed=1405, anchor=later)
    assert _bytes(moved) == _bytes(ds.build_dataset(200, seed=1405, anchor=later.isoformat()))
    assert max(occurred(moved)) <= later
    assert min(occurred(moved)) > ds.DEFAULT_ANCHOR
    assert ds.as_anchor("2025-01-01") == ds.DEFAULT_ANCHOR


def test_about_five_percent_are_labelled_rejections(stream: ds.Dataset) -> None:
    rejects = [d for d in stream.deliveries if d.expect == "reject"]
    share = len(rejects) / len(stream.deliveries)
    assert 0.04 <= share <= 0.06, share
    assert {d.reason for d in rejects} == set(ds.REJECTIONS)
    assert all(d.expect_status for d in rejects)


def test_quirks_are_present(stream: ds.Dataset) -> None:
    quirks = Counter(q for d in stream.deliveries for q in d.quirks)
    for quirk in (
        "arabic_yeh_kaf",
        "persian_digits",
        "arabic_indic_digits",
        "intl_phone_prefix",
        "jalali_dates",
        "zwnj",
    ):
        assert quirks[quirk] > 0, quirk
    assert sum(d.duplicate_of is not None for d in stream.deliveries) > 0
    assert sum(d.out_of_order for d in stream.deliveries) > 0


def test_every_event_validates_as_its_label_says(stream: ds.Dataset) -> None:
    for delivery in stream.deliveries:
        result = validate_event(json.loads(delivery.body))
        if delivery.expect == "accept" or delivery.expect_status != 422:
            assert result.ok, (delivery.seq, delivery.reason, result.issues[:3])
        else:
            pointers = [i.pointer for i in result.issues]
            assert not result.ok, (delivery.seq, delivery.reason)
            assert any(p.startswith(delivery.expect_pointer or "") for p in pointers)


def test_identifiers_and_places_are_real(stream: ds.Dataset) -> None:
    ref = ds.load_reference()
    hoods = {(h.district, h.name): h for hs in ref.neighbourhoods.values() for h in hs}
    for delivery in stream.deliveries[:300]:
        if delivery.expect != "accept":
            continue
        licence = json.loads(delivery.body)["licence"]
        holder = licence["holder"]
        ascii_id = holder["national_id"].translate(ds._TO_ASCII)
        assert is_national_id(ascii_id) or is_legal_id(ascii_id)
        location = licence["location"]
        hood = hoods[
            (
                location["district"],
                location["neighbourhood"].translate(str.maketrans({"ي": "ی", "ك": "ک"})),
            )
        ]
        point = location["coordinates"]
        assert ds.inside(point["lon"], point["lat"], hood)


def test_sqs_event_has_lambdas_shape() -> None:
    message = {
        "MessageId": "m1",
        "ReceiptHandle": "r1",
        "Body": '{"licence_id": "TM-05-1403-000123", "version": 2}',
        "MD5OfBody": "x",
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1", "Other": "no"},
        "MessageAttributes": {"reason": {"StringValue": "busy", "DataType": "String"}},
    }
    event = sqs_event([message], "arn:aws:sqs:us-east-1:123456789012:q")
    record = event["Records"][0]
    assert record["messageId"] == "m1" and record["receiptHandle"] == "r1"
    assert record["eventSource"] == "aws:sqs" and record["awsRegion"] == "us-east-1"
    assert record["attributes"] == {"ApproximateReceiveCount": "2", "SentTimestamp": "1"}
    assert record["messageAttributes"]["reason"]["stringValue"] == "busy"


def test_batch_response_semantics() -> None:
    ids = {"a", "b"}
    assert failed_ids(None, ids) == set()
    assert failed_ids({"batchItemFailures": []}, ids) == set()
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "b"}]}, ids) == {"b"}
    assert failed_ids({"batchItemFailures": [{"itemIdentifier": "zz"}]}, ids) is None
    assert failed_ids({"batchItemFailures": [{}]}, ids) is None
    assert failed_ids("nonsense", ids) is None


class FakeSqs:
    def __init__(self) -> None:
        self.deleted: list[str] = []
        self.visibility: dict[str, int] = {}

    def get_queue_attributes(self, **_: Any) -> dict[str, Any]:
        return {"Attributes": {"QueueArn": "arn:aws:sqs:us-east-1:123456789012:q"}}

    def delete_message_batch(self, QueueUrl: str, Entries: list[dict[str, str]]) -> None:
        self.deleted += [e["ReceiptHandle"] for e in Entries]

    def change_message_visibility(self, **kwargs: Any) -> None:
        self.visibility[kwargs["ReceiptHandle"]] = kwargs["VisibilityTimeout"]


def _messages(n: int) -> list[dict[str, Any]]:
    return [
        {"MessageId": f"m{i}", "ReceiptHandle": f"r{i}", "Body": "{}", "Attributes": {}}
        for i in range(n)
    ]


def test_poller_deletes_only_successes_and_leaves_failures() -> None:
    sqs = FakeSqs()
    seen: list[int] = []

    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        seen.append(context.get_remaining_time_in_millis())
        return {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    poller = Poller(sqs, "url", handler)
    poller.invoke(_messages(3))
    assert sqs.deleted == ["r0", "r2"]
    assert sqs.visibility == {}  # the worker's own delay stands
    assert 55_000 < seen[0] <= 60_000  # the sync worker's 60 s budget
    assert poller.stats.failed == 1 and poller.stats.succeeded == 2


def test_poller_fails_the_whole_batch_when_the_handler_raises() -> None:
    sqs = FakeSqs()

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise RuntimeError("boom")

    poller = Poller(sqs, "url", handler, crash_visibility=7)
    poller.invoke(_messages(2))
    assert sqs.deleted == []
    assert sqs.visibility == {"r0": 7, "r1": 7}
    assert poller.stats.crashed_batches == 1


def test_a_poison_message_reaches_the_dead_letter_queue_by_redrive(aws: dict[str, str]) -> None:
    from chalicelib import wiring

    sqs = wiring.client("sqs")
    queue, dlq = aws["SyncQueueUrl"], aws["SyncDeadLetterQueueUrl"]
    body = '{"licence_id": "TM-05-1403-000123", "version": 1}'
    sqs.send_message(QueueUrl=queue, MessageBody=body)

    def always_fails(event: dict[str, Any], context: Any) -> dict[str, Any]:
        # as the worker does: report the record, and let it come back (here: at once)
        for record in event["Records"]:
            sqs.change_message_visibility(
                QueueUrl=queue, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}

    poller = Poller(sqs, queue, always_fails, wait_seconds=0)
    deliveries = sum(poller.poll_once() for _ in range(8))
    assert deliveries == 5  # maxReceiveCount in infra/stack.yaml
    assert poller.stats.max_receive_count == 5 and poller.stats.redelivered == 4
    parked = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in parked] == [body]
