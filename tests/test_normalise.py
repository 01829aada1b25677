"""Normalisation: the text profile, key-driven identifiers, idempotence, no mutation."""

from __future__ import annotations

import copy
import sys
import unicodedata
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib import normalise as norm
from chalicelib.identifiers import is_mobile, is_national_id
from chalicelib.normalise import (
    normalise_document,
    normalise_identifier,
    normalise_mobile,
    normalise_plate,
    normalise_text,
    to_ascii_digits,
)

ZWNJ = "\u200c"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("علي", "علی"),  # Arabic yeh
        ("مصطفى", "مصطفی"),  # alef maksura
        ("كرمان", "کرمان"),  # Arabic kaf
        ("السلام عليكم", "السلام علیکم"),
        ("  تهران  ", "تهران"),
        ("\u200bتهران\ufeff", "تهران"),
        ("\u202bتهران\u202c", "تهران"),
        ("\u2067تهران\u2069\u200e\u200f", "تهران"),
        ("علی\u200cرضا", "علی\u200cرضا"),  # ZWNJ kept
        ("\u200cکاروان\u200c\u200cسرا", "\u200cکاروان\u200c\u200cسرا"),  # not collapsed either
        ("ي\u0654", "ئ"),  # NFD yeh + hamza composes to U+0626, not to ی + a loose mark
        ("e\u0301", "é"),
        ("ساعت ۱۸", "ساعت ۱۸"),  # digits in text stay as written
        ("plain ascii ", "plain ascii"),
    ],
)
def test_text_profile(raw: str, expected: str) -> None:
    assert normalise_text(raw) == expected
    assert normalise_document({"title": raw}) == {"title": expected}


def test_digits() -> None:
    assert to_ascii_digits("۸۹123۴۵") == "8912345"
    assert to_ascii_digits("89١٢٣4٥") == "8912345"
    assert to_ascii_digits("0123۴۵۶789") == "0123456789"
    assert to_ascii_digits("abc") == "abc"


@pytest.mark.parametrize(
    ("key", "raw", "expected"),
    [
        ("national_id", "۰۰۸۴۵۷۵۹۴۸", "0084575948"),
        ("national_id", "٠٠٨٤٥٧٥٩٤٨", "0084575948"),
        ("national_id", " 008 457 5948 ", "0084575948"),
        ("national_id", "00845\u200c75948", "0084575948"),
        ("postal_code", "۱۱۹۳۶ ۵۳۴۷۱", "1193653471"),
        ("tracking_code", "1403\u00a0512345", "1403512345"),
        ("registration_number", "۱۲۳۴۵", "12345"),
        ("licence_id", "TM-05-1403-000123", "TM-05-1403-000123"),
        ("mobile", "+98 912 200 2580", "09122002580"),
        ("mobile", "0098-912-200-2580", "09122002580"),
        ("mobile", "989122002580", "09122002580"),
        ("mobile", "9122002580", "09122002580"),
        ("mobile", "۰۹۱۲۲۰۰۲۵۸۰", "09122002580"),
        ("mobile", "+98 (0) 912 200 2580", "09122002580"),
        ("office_phone", "(021) 8888-1234", "02188881234"),
        ("office_phone", "+98 21 8888 1234", "+982188881234"),  # a landline stays as given
        ("emergency_phone", "+989122002580", "09122002580"),
        ("issued_on", "۱۴۰۳/۱۲/۲۰", "1403/12/20"),
        ("valid_until", "١٤٠٤/١٢/١٩", "1404/12/19"),
        ("birth_date", "۱۳۶۰-۰۵-۲۶", "1360-05-26"),
        ("occurred_at", "۲۰۲۵-03-20T10:15:00+03:30", "2025-03-20T10:15:00+03:30"),
        ("vehicle_plate", "۱۲ ب ۳۴۵ ایران ۶۷", "12ب345-67"),
        ("vehicle_plate", "12 ب 345 - 67", "12ب345-67"),
        ("vehicle_plate", "ایران ۶۷ - ۱۲ ب ۳۴۵", "12ب345-67"),
        ("vehicle_plate", "12الف345-67", "12الف345-67"),
        ("vehicle_plate", "12 ا 345 | 67", "12الف345-67"),
        ("vehicle_plate", "12ي345-67", "12ی345-67"),
        ("vehicle_plate", "12ك345ايران67", "12ک345-67"),
        ("vehicle_plate", "12ھ345-67", "12ه345-67"),
        ("vehicle_plate", "not a plate", "notaplate"),
        ("title", "۱۲ ب ۳۴۵", "۱۲ ب ۳۴۵"),  # not a plate key: digits stay
        ("address", "پلاک ۱۲", "پلاک ۱۲"),
    ],
)
def test_key_driven(key: str, raw: str, expected: str) -> None:
    assert normalise_document({key: raw}) == {key: expected}


def test_plate_arrays_and_helpers() -> None:
    doc = {"vehicle_plates": ["۱۲ ب ۳۴۵ ایران ۶۷", "22 ت 111 - 10"]}
    assert normalise_document(doc) == {"vehicle_plates": ["12ب345-67", "22ت111-10"]}
    assert normalise_plate("12ب345-67") == "12ب345-67"
    assert normalise_mobile("09122002580") == "09122002580"
    assert normalise_identifier(" ۱ ۲ ") == "12"


def test_keys_and_non_strings_unchanged() -> None:
    doc = {
        "national_id": 84575948,
        "amount_rials": 25000000,
        "lat": Decimal("35.7575"),
        "ok": True,
        "none": None,
        "كليد ": "x",
        "nested": [[" a "], {"mobile": "+989122002580"}],
    }
    out = normalise_document(doc)
    assert list(out) == list(doc)
    assert out["national_id"] == 84575948
    assert out["lat"] == Decimal("35.7575") and isinstance(out["lat"], Decimal)
    assert out["ok"] is True and out["none"] is None
    assert out["nested"] == [["a"], {"mobile": "09122002580"}]
    assert normalise_document("  x ") == "x"
    assert normalise_document(7) == 7


def test_new_structure_input_untouched() -> None:
    doc = {"holder": {"first_name": "علي", "mobile": "+989122002580"}, "fees": [{"kind": " a"}]}
    before = copy.deepcopy(doc)
    out = normalise_document(doc)
    assert doc == before
    assert out is not doc and out["holder"] is not doc["holder"]
    assert out["fees"] is not doc["fees"] and out["fees"][0] is not doc["fees"][0]


def test_whitespace_table_is_what_isspace_accepts() -> None:
    every = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(norm._WHITESPACE) == every


def test_no_nfc_composition_starts_from_persian_yeh_or_keheh() -> None:
    # Why mapping letters after NFC keeps the text NFC (see normalise_text).
    for code in range(0x300, 0x2000):
        mark = chr(code)
        if unicodedata.combining(mark) and unicodedata.is_normalized("NFC", mark):
            for base in "یک":
                assert unicodedata.is_normalized("NFC", base + mark), hex(code)


def test_kind_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(norm, "_KIND_MEMO", {})
    for i in range(norm._KIND_MEMO_MAX + 10):
        assert normalise_document({f"k{i}_id": " ۱ "}) == {f"k{i}_id": "1"}
    assert len(norm._KIND_MEMO) == norm._KIND_MEMO_MAX


# --- properties ------------------------------------------------------------------------

PERSIAN_ALPHABET = (
    "ابپتثجچحخدذرزژسشصضطظعغفقکگلمنوهیآئء"
    "يىكۀةأإؤھە"  # Arabic and look-alike letters
    "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩0123456789"
    "\u200c\u200b\ufeff\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200d"
    "\u064b\u064e\u0650\u0651\u0652\u0653\u0654\u0655\u0670"  # marks, incl. composing ones
    " \t\n\u00a0\u2000\u2028-()+/|«»،.aAé\u0301"
)
TEXT = st.text(alphabet=st.sampled_from(PERSIAN_ALPHABET), max_size=24) | st.text(max_size=12)
KEYS = st.sampled_from(
    ["title", "name", "address", "national_id", "postal_code", "tracking_code",
     "registration_number", "mobile", "office_phone", "issued_on", "valid_until",
     "birth_date", "occurred_at", "vehicle_plate", "vehicle_plates", "isic_code"]
) | st.text(max_size=8)  # fmt: skip
SCALARS = TEXT | st.integers() | st.decimals(allow_nan=False) | st.booleans() | st.none()
DOCS = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


@settings(max_examples=200, deadline=None)
@given(DOCS)
def test_idempotent_and_input_never_mutated(doc: Any) -> None:
    before = copy.deepcopy(doc)
    once = normalise_document(doc)
    assert doc == before
    assert normalise_document(once) == once


@settings(max_examples=200, deadline=None)
@given(KEYS, TEXT)
def test_every_kind_is_idempotent(key: str, text: str) -> None:
    once = normalise_document({key: text})[key]
    assert normalise_document({key: once})[key] == once
    assert unicodedata.is_normalized("NFC", once)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="ابپتیکرضعلمنوهسش", min_size=1, max_size=6), min_size=1, max_size=5)
)
def test_zwnj_kept_byte_for_byte_in_names(words: list[str]) -> None:
    name = ZWNJ.join(words)
    for key in ("first_name", "last_name", "address", "name"):
        out = normalise_document({key: name})[key]
        assert out.encode("utf-8") == name.encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=PERSIAN_ALPHABET, max_size=30))
def test_text_keeps_every_zwnj(text: str) -> None:
    assert normalise_text(text).count(ZWNJ) == text.count(ZWNJ)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", min_size=10, max_size=10))
def test_digit_scripts_are_equivalent_after_normalisation(digits: str) -> None:
    out = normalise_document({"national_id": digits})["national_id"]
    assert out.isascii()
    assert is_national_id(out) == is_national_id(to_ascii_digits(digits))
    if not digits.isascii():  # the \d pitfall: raw Persian digits never pass an ASCII check
        assert not is_national_id(digits)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"9[0-9]{9}", fullmatch=True), st.sampled_from(["+98", "0098", "98", "0", ""]))
def test_mobile_prefixes(tail: str, prefix: str) -> None:
    out = normalise_mobile(prefix + tail)
    assert out == "0" + tail and is_mobile(out)
