"""The read side: paging, filters, bounds on reads, byte budget, exact JSON."""

from __future__ import annotations

import json
from decimal import Decimal

from chalicelib.feed import FeedFilter, page_body, read_page
from chalicelib.jsonparse import encode_json
from tests.feed.conftest import ZWNJ, FeedDb, feed_entry

NO_FILTER = FeedFilter()
TYPES = ["FOOD_TRUCK", "KINDERGARTEN", "CAR_WASH", "TAXI_DRIVER"]


def _fill(db: FeedDb, count: int) -> None:
    for n in range(1, count + 1):
        db.append(feed_entry(n, licence_type=TYPES[n % 4], district=n % 3 + 1))


def _follow(db: FeedDb, limit: int, feed_filter: FeedFilter = NO_FILTER) -> list[int]:
    position, seen = 0, []
    for _ in range(1000):
        page = read_page(
            db.client, feed_table=db.table, after=position, limit=limit, feed_filter=feed_filter
        )
        seen.extend(page.sequences)
        position = page.position
        if not page.has_more:
            return seen
    raise AssertionError("the follower never caught up")


def test_pages_follow_commit_order_and_read_at_most_one_extra_item(db: FeedDb) -> None:
    _fill(db, 23)
    page = read_page(db.client, feed_table=db.table, after=0, limit=10)
    assert page.sequences == list(range(1, 11))
    assert page.has_more and page.position == 10
    assert page.items_read == 11
    last = read_page(db.client, feed_table=db.table, after=20, limit=10)
    assert last.sequences == [21, 22, 23]
    assert not last.has_more and last.items_read == 3
    assert _follow(db, 4) == list(range(1, 24))
    # The last page grows: the same position later returns what was appended since.
    db.append(feed_entry(24))
    assert read_page(db.client, feed_table=db.table, after=23).sequences == [24]


def test_empty_feed_keeps_the_position(db: FeedDb) -> None:
    page = read_page(db.client, feed_table=db.table, after=0)
    assert page.sequences == [] and page.position == 0 and not page.has_more


def test_type_filter_with_several_values_merges_in_global_order(db: FeedDb) -> None:
    _fill(db, 40)
    wanted = FeedFilter.of(["CAR_WASH", "FOOD_TRUCK"])
    expected = [n for n in range(1, 41) if TYPES[n % 4] in {"CAR_WASH", "FOOD_TRUCK"}]
    assert _follow(db, 3, wanted) == expected
    page = read_page(db.client, feed_table=db.table, after=0, limit=5, feed_filter=wanted)
    assert page.sequences == expected[:5]
    # Bounded by the page, not by the table: at most about 2 x page + 2 per value.
    assert page.items_read <= 2 * 5 + 2 * 2


def test_district_filter_and_both_filters(db: FeedDb) -> None:
    _fill(db, 36)
    district_2 = [n for n in range(1, 37) if n % 3 + 1 == 2]
    assert _follow(db, 4, FeedFilter.of(districts=["2"])) == district_2
    both = FeedFilter.of(["KINDERGARTEN", "TAXI_DRIVER"], ["2", "03"])
    expected = [
        n
        for n in range(1, 37)
        if TYPES[n % 4] in {"KINDERGARTEN", "TAXI_DRIVER"} and n % 3 + 1 in {2, 3}
    ]
    assert _follow(db, 2, both) == expected


def test_both_filters_bound_the_items_examined_and_still_progress(db: FeedDb) -> None:
    _fill(db, 30)
    rare = FeedFilter.of(["FOOD_TRUCK"], ["9"])  # matches nothing
    page = read_page(
        db.client, feed_table=db.table, after=0, limit=5, feed_filter=rare, examine_cap=4
    )
    assert page.sequences == [] and page.has_more
    food_trucks = [n for n in range(1, 31) if n % 4 == 0]
    assert page.position == food_trucks[3]  # advanced past what it examined
    assert page.items_read <= 6


def test_filtered_reads_wait_for_the_index_settle_window(db: FeedDb) -> None:
    db.append(feed_entry(1))
    db.append(feed_entry(2), age_seconds=0)
    wanted = FeedFilter.of(["FOOD_TRUCK"])
    page = read_page(db.client, feed_table=db.table, after=0, feed_filter=wanted)
    assert page.sequences == [1] and page.position == 1
    later = read_page(db.client, feed_table=db.table, after=0, feed_filter=wanted, settle_seconds=0)
    assert later.sequences == [1, 2]
    # The unfiltered feed reads the table consistently and needs no window.
    assert read_page(db.client, feed_table=db.table, after=0).sequences == [1, 2]


def test_byte_budget_counts_encoded_persian_bytes(db: FeedDb) -> None:
    long_text = ("خیابان ولیعصر، کوچه" + ZWNJ + "ی بهار ") * 900  # ~27 KB of text, ~50 KB UTF-8
    for n in range(1, 31):
        entry = feed_entry(n)
        entry["record"]["location"]["address"] = long_text
        db.append(entry)
    budget = 400_000
    page = read_page(db.client, feed_table=db.table, after=0, limit=500, byte_budget=budget)
    body = page_body(page, "x" * 200)
    assert len(long_text.encode()) > 1.8 * len(long_text)
    assert len(body) <= budget
    assert 0 < len(page.sequences) < 30 and page.has_more
    # The next entry would have crossed the budget: pages are as full as the budget allows.
    next_entry_size = len(
        read_page(db.client, feed_table=db.table, after=page.position, limit=1).entries[0]
    )
    assert len(body) + next_entry_size > budget - 1024
    assert _follow_bytes(db, budget) == list(range(1, 31))


def _follow_bytes(db: FeedDb, budget: int) -> list[int]:
    position, seen = 0, []
    while True:
        page = read_page(
            db.client, feed_table=db.table, after=position, limit=500, byte_budget=budget
        )
        seen.extend(page.sequences)
        position = page.position
        if not page.has_more:
            return seen


def test_json_is_utf8_without_escapes_and_numbers_are_exact(db: FeedDb) -> None:
    db.append(feed_entry(1))
    raw = read_page(db.client, feed_table=db.table, after=0).entries[0]
    text = raw.decode("utf-8")
    assert "\\u" not in text
    assert f"کافه{ZWNJ}ی سیار 1" in text
    assert '"amount_rials":123456789012345678901234567890' in text
    assert '"lat":35.6891975' in text
    entry = json.loads(text, parse_float=Decimal)
    assert entry["sequence"] == 1
    assert entry["licence"]["fees"][0]["amount_rials"] == 123456789012345678901234567890
    assert entry["licence"]["location"]["coordinates"]["lon"] == Decimal("51.3889736")
    assert set(entry) == {
        "sequence",
        "licence_id",
        "licence_type",
        "event_type",
        "status",
        "version",
        "changed_at",
        "licence",
    }


def test_encode_json_matches_the_standard_library_where_both_apply() -> None:
    value = {"a": [1, True, None, 'x"\n\\', "ی\u200c"], "b": {"c": -5}, "d": 1.5}
    assert (
        encode_json(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    )
    assert encode_json(Decimal("1E+3")) == b"1000"
    assert encode_json(Decimal("-0.000001")) in (b"-0.000001", b"-1E-6", b"-1E-06")
