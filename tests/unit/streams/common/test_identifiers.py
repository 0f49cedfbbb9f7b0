"""Identity keys and the one definition of the e-mail and phone hashes."""

from __future__ import annotations

import hashlib

import pytest

from streams import carts, stock
from streams.common.events import event_id_text, meta, to_datetime, to_millis
from streams.common.identifiers import (
    identifier_set,
    identity_keys,
    normalise_email,
    normalise_phone,
    ordered,
    parse_key,
)
from streams.common.text import first_line
from streams.exceptions import CorruptState, InvalidIdentifier
from tests.unit.streams.helpers import at, event


def test_identity_keys_most_stable_first_and_skip_empty() -> None:
    ids = {
        "device_id": "d1",
        "customer_id": "C1",
        "anonymous_id": "a1",
        "email_sha256": None,
        "phone_sha256": "",
        "loyalty_id": "L1",
    }
    assert identity_keys(ids) == ["customer:C1", "anonymous:a1", "loyalty:L1", "device:d1"]


def test_parse_key_round_trip_and_rejects_garbage() -> None:
    assert parse_key("email:ab:cd") == ("email", "ab:cd")
    for bad in ("nokind", "planet:x", "email:"):
        with pytest.raises(InvalidIdentifier):
            parse_key(bad)


def test_ordered_is_deterministic() -> None:
    assert ordered({"device:z", "customer:b", "customer:a"}) == [
        "customer:a",
        "customer:b",
        "device:z",
    ]


def test_identifier_set_groups_by_kind_and_leaves_customers_out() -> None:
    view = identifier_set({"customer:C1", "anonymous:b", "anonymous:a", "email:e"})
    assert view == {
        "anonymous_ids": ["a", "b"],
        "device_ids": [],
        "email_sha256s": ["e"],
        "phone_sha256s": [],
        "loyalty_ids": [],
    }


def test_email_hash_trims_and_lowercases() -> None:
    expected = hashlib.sha256(b"alex@example.com").hexdigest()
    assert normalise_email("  Alex@Example.COM ") == expected
    with pytest.raises(InvalidIdentifier):
        normalise_email("not-an-address")


def test_phone_hash_is_plus_and_digits_only() -> None:
    expected = hashlib.sha256(b"+4930123456").hexdigest()
    assert normalise_phone("+49 (30) 123-456") == expected
    assert normalise_phone("4930123456") == expected
    with pytest.raises(InvalidIdentifier):
        normalise_phone("n/a")


def test_time_conversions_are_exact_and_invertible() -> None:
    t = at(1.234)
    assert to_datetime(to_millis(t)) == t
    assert to_millis(to_millis(t)) == to_millis(t)


def test_meta_reads_the_envelope_in_either_id_form() -> None:
    ev = event("cart.CartCleared", t=5, eid="ABCDEF00-0000-0000-0000-000000000001", seq=3)
    m = meta(ev)
    assert m.event_id == "abcdef00-0000-0000-0000-000000000001"
    assert m.at == to_millis(at(5))
    assert m.sequence == 3
    assert event_id_text(m.event_id) == m.event_id


def test_first_line_skips_blank_lines_and_truncates() -> None:
    assert first_line("\n  Hello there \nsecond") == "Hello there"
    long = first_line("x" * 500)
    assert len(long) == 140
    assert long.endswith("…")
    assert first_line(None) == ""


def test_a_state_dict_missing_a_field_is_corrupt_state() -> None:
    with pytest.raises(CorruptState):
        carts.from_state_dict({"v": 1})
    with pytest.raises(CorruptState):
        stock.from_state_dict({"levels": []})
