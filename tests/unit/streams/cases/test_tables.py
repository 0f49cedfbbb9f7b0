"""The cases table form: a case and its seen ids survive encode/decode."""

from __future__ import annotations

import pytest

from streams.cases import rules, tables
from streams.common import idempotency
from streams.common.outcome import Applied
from streams.exceptions import CorruptState
from tests.unit.streams.helpers import event


def test_case_state_round_trips() -> None:
    opened = event("service.CaseOpened", case_id="CASE-1")
    outcome = rules.apply(None, "CaseOpened", opened)
    assert isinstance(outcome, Applied)
    _, seen = idempotency.admit(idempotency.Seen(), opened["envelope"])
    state = tables.CaseState(outcome.state, seen)
    assert tables.decode(tables.encode(state)) == state


def test_a_foreign_value_is_corrupt_state() -> None:
    with pytest.raises(CorruptState):
        tables.decode("not bytes")  # type: ignore[arg-type]
