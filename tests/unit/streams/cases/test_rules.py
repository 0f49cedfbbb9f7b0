"""Service cases: status, messages, calls, resolution time, CSAT and order of events."""

from __future__ import annotations

from typing import Any

import pytest

from streams.cases import (
    Case,
    apply,
    from_state_dict,
    reassign,
    summary,
    to_state_dict,
    to_view,
)
from streams.common.idempotency import Seen, admit
from streams.common.outcome import Applied, Rejected
from streams.exceptions import UnsupportedEvent
from tests.unit.streams.helpers import assert_view, event, json_trip, ms

CUSTOMER = {"customer_id": "C1", "email_sha256": "e1"}


def _ev(name: str, t: float, channel: str = "chat", **fields: Any) -> tuple[str, dict[str, Any]]:
    fields.setdefault("case_id", "K1")
    return name, event(f"service.{name}", t=t, channel=channel, ids=CUSTOMER, **fields)


def _run(case: Case | None, *events: tuple[str, dict[str, Any]]) -> Case:
    for name, ev in events:
        out = apply(case, name, ev)
        assert isinstance(out, Applied), out
        case = out.state
    assert case is not None
    return case


def _msg(t: float, author: str, body: str, channel: str = "chat") -> tuple[str, dict[str, Any]]:
    return _ev("CaseMessage", t, channel=channel, author=author, medium="chat", body=body)


OPENED = _ev("CaseOpened", 0, subject="Where is my order?", category="delivery")


def test_opened_case_is_open_and_knows_its_customer() -> None:
    case = _run(None, OPENED)
    assert (case.case_id, case.status.value, case.subject) == ("K1", "open", "Where is my order?")
    assert case.customer_key == "customer:C1"
    assert case.opened_at == ms(0)


def test_messages_move_the_ball_between_customer_and_agent() -> None:
    case = _run(None, OPENED, _msg(1, "customer", "Hello?\nIt is late."))
    assert case.status.value == "awaiting_agent"
    assert case.last_message.value == "Hello?"
    case = _run(case, _msg(2, "agent", "Checking now"))
    assert case.status.value == "awaiting_customer"
    case = _run(case, _msg(3, "bot", "Any more questions?"))
    assert case.status.value == "awaiting_customer"
    assert case.messages == 3
    assert case.last_message.value == "Any more questions?"


def test_last_message_is_truncated_to_one_short_line() -> None:
    case = _run(None, OPENED, _msg(1, "customer", "x" * 400))
    assert len(case.last_message.value) == 140


def test_resolution_time_and_first_resolution_kept() -> None:
    case = _run(None, OPENED, _ev("CaseResolved", 90, resolution="Parcel re-sent"))
    assert case.status.value == "resolved"
    assert case.time_to_resolution_s == 90
    again = _run(case, _ev("CaseResolved", 200))
    assert again.time_to_resolution_s == 90


def test_customer_message_reopens_but_agent_follow_up_does_not() -> None:
    resolved = _run(None, OPENED, _ev("CaseResolved", 10))
    followed = _run(resolved, _msg(20, "agent", "Glad we could help"))
    assert followed.status.value == "resolved"
    reopened = _run(resolved, _msg(30, "customer", "Still not here"))
    assert reopened.status.value == "awaiting_agent"
    assert reopened.resolved_at is None


def test_late_message_cannot_reopen_a_case_resolved_after_it() -> None:
    case = _run(None, OPENED, _ev("CaseResolved", 100), _msg(50, "customer", "older"))
    assert case.status.value == "resolved"
    assert case.last_message.value == "older"
    newer = _run(case, _msg(150, "agent", "newest"), _msg(120, "agent", "late"))
    assert newer.last_message.value == "newest"


def test_calls_count_and_accumulate_talk_time_and_set_the_channel() -> None:
    case = _run(
        None,
        OPENED,
        _ev("CallStarted", 5, channel="call_centre", call_id="c1", direction="inbound"),
        _ev("CallEnded", 65, channel="call_centre", call_id="c1", duration_s=60),
    )
    assert (case.calls, case.talk_time_s, case.channel.value) == (1, 60, "call_centre")


def test_call_without_case_is_keyed_by_call_id() -> None:
    name, ev = _ev("CallStarted", 1, call_id="CALL-9", direction="outbound", case_id=None)
    assert _run(None, (name, ev)).case_id == "CALL-9"


def test_csat_is_validated_and_last_writer_wins() -> None:
    case = _run(None, OPENED, _ev("CsatSubmitted", 10, score=5), _ev("CsatSubmitted", 5, score=2))
    assert case.csat_score == 5
    bad = _ev("CsatSubmitted", 11, score=9)
    assert apply(case, *bad) == Rejected("bad_score", "9")
    assert isinstance(apply(case, *_ev("CallEnded", 1, call_id="c", duration_s=-1)), Rejected)


def test_events_before_the_opening_still_build_the_case() -> None:
    case = _run(None, _msg(5, "customer", "hi"), OPENED)
    assert case.opened_at == ms(0)
    assert case.subject == "Where is my order?"
    assert case.status.value == "awaiting_agent"


def test_duplicates_have_one_effect_and_others_are_unsupported() -> None:
    msg = _msg(1, "customer", "hi")
    seen, case = Seen(), None
    for name, ev in (OPENED, msg, msg):
        verdict, seen = admit(seen, ev["envelope"])
        if verdict.applies:
            case = _run(case, (name, ev))
    assert case is not None
    assert case.messages == 1
    with pytest.raises(UnsupportedEvent):
        apply(case, "OrderPlaced", msg[1])


def test_summary_validates() -> None:
    case = _run(None, OPENED, _msg(1, "customer", "Hello?"))
    view = summary(case)
    assert_view(view, "omni.view.CaseSummary")
    assert view["status"] == "awaiting_agent"
    assert to_view(case) == view


def test_state_dict_round_trip() -> None:
    case = _run(None, OPENED, _msg(1, "customer", "hi"), _ev("CsatSubmitted", 3, score=4))
    assert from_state_dict(json_trip(to_state_dict(case))) == case
    fresh = _run(None, OPENED)
    assert from_state_dict(json_trip(to_state_dict(fresh))) == fresh


def test_reassign_moves_the_case_to_the_survivor() -> None:
    case = _run(None, OPENED)
    moved = reassign(case, "customer:C9", ms(5))
    assert moved.customer_key == "customer:C9"
    assert reassign(moved, "customer:C9", ms(6)) is moved
