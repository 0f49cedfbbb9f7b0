"""Idempotency and the out-of-order rule: duplicates dropped, late events classed, LWW."""

from __future__ import annotations

import uuid

from streams.common.idempotency import (
    SEEN_BOUND,
    Seen,
    Stamped,
    Verdict,
    admit,
    check,
    from_state_dict,
    lww,
    newer,
    put_lww,
    record,
    to_state_dict,
)
from tests.unit.streams.helpers import json_trip

A = "00000000-0000-0000-0000-00000000000a"
B = "00000000-0000-0000-0000-00000000000b"


def test_new_event_applies_and_the_same_id_is_then_a_duplicate() -> None:
    seen = Seen()
    assert check(seen, A, "pos", 1) is Verdict.APPLY
    seen = record(seen, A, "pos", 1)
    assert check(seen, A, "pos", 1) is Verdict.DUPLICATE
    assert not Verdict.DUPLICATE.applies


def test_uuid_and_text_forms_of_one_id_are_the_same_event() -> None:
    seen = record(Seen(), uuid.UUID(A), "pos", None)
    assert check(seen, A.upper(), "pos", None) is Verdict.DUPLICATE


def test_lower_sequence_from_the_same_source_with_a_new_id_is_late_but_applies() -> None:
    seen = record(Seen(), A, "pos-1", 10)
    verdict = check(seen, B, "pos-1", 9)
    assert verdict is Verdict.LATE
    assert verdict.applies


def test_sequences_are_per_source() -> None:
    seen = record(Seen(), A, "pos-1", 10)
    assert check(seen, B, "pos-2", 1) is Verdict.APPLY
    assert check(seen, B, "pos-1", 11) is Verdict.APPLY
    assert check(seen, B, "pos-1", None) is Verdict.APPLY


def test_record_keeps_the_highest_sequence() -> None:
    seen = record(record(Seen(), A, "s", 10), B, "s", 3)
    assert seen.high == {"s": 10}


def test_the_window_is_bounded_and_evicts_the_oldest_first() -> None:
    seen = Seen()
    for i in range(SEEN_BOUND + 5):
        seen = record(seen, str(uuid.UUID(int=i)), "s", None)
    assert len(seen.ids) == SEEN_BOUND
    assert check(seen, str(uuid.UUID(int=0)), "s", None) is Verdict.APPLY  # evicted
    assert check(seen, str(uuid.UUID(int=SEEN_BOUND + 4)), "s", None) is Verdict.DUPLICATE


def test_admit_checks_and_records_once() -> None:
    env = {"event_id": A, "source": "s", "sequence": 1}
    verdict, seen = admit(Seen(), env)
    assert verdict is Verdict.APPLY
    again, same = admit(seen, env)
    assert again is Verdict.DUPLICATE
    assert same is seen


def test_record_does_not_change_its_input() -> None:
    seen = record(Seen(), A, "s", 1)
    record(seen, B, "s", 2)
    assert list(seen.ids) == [A]
    assert seen.high == {"s": 1}


def test_lww_newer_time_wins_and_ties_go_to_the_greater_event_id() -> None:
    assert lww("old", 100, A, "new", 200, A) == Stamped("new", 200, A)
    assert lww("held", 200, A, "late", 100, B) == Stamped("held", 200, A)
    assert lww("held", 100, A, "tie", 100, B) == Stamped("tie", 100, B)
    assert lww("held", 100, B, "tie", 100, A) == Stamped("held", 100, B)
    assert lww(None, None, None, "first", 1, A) == Stamped("first", 1, A)
    assert newer(2, A, 1, B)
    assert not newer(1, A, 1, A)


def test_put_lww_returns_the_same_mapping_when_the_write_loses() -> None:
    held = {"x": Stamped(True, 200, A)}
    assert put_lww(held, "x", False, 100, B) is held
    assert put_lww(held, "x", False, 300, B)["x"] == Stamped(False, 300, B)


def test_state_dict_round_trip() -> None:
    seen = record(record(Seen(), A, "s", 4), B, "t", None)
    assert from_state_dict(json_trip(to_state_dict(seen))) == seen
