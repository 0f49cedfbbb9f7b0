"""The per-endpoint circuit breaker, on a hand-driven clock."""

from __future__ import annotations

import pytest

from connectors.sinks.breaker import BreakerState, CircuitBreaker
from connectors.sinks.exceptions import BreakerOpen


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def breaker(clock: Clock, changes: list[BreakerState] | None = None) -> CircuitBreaker:
    on_change = None if changes is None else changes.append
    return CircuitBreaker(failure_threshold=3, reset_s=10.0, clock=clock, on_change=on_change)


def test_opens_after_the_threshold_of_failures_in_a_row(clock: Clock) -> None:
    b = breaker(clock)
    for _ in range(2):
        b.before_call()
        b.record_failure()
    assert b.state is BreakerState.CLOSED
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    with pytest.raises(BreakerOpen, match=r"next trial in 10\.0s"):
        b.before_call()


def test_a_success_resets_the_count(clock: Clock) -> None:
    b = breaker(clock)
    b.record_failure()
    b.record_failure()
    b.record_success()
    b.record_failure()
    b.record_failure()
    assert b.state is BreakerState.CLOSED


def test_half_open_lets_exactly_one_trial_through(clock: Clock) -> None:
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 10.0
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()
    with pytest.raises(BreakerOpen):
        b.before_call()


def test_a_successful_trial_closes_it(clock: Clock) -> None:
    changes: list[BreakerState] = []
    b = breaker(clock, changes)
    for _ in range(3):
        b.record_failure()
    clock.now += 10.0
    b.before_call()
    b.record_success()
    assert b.state is BreakerState.CLOSED
    assert changes == [BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED]


def test_a_failed_trial_opens_it_for_another_period(clock: Clock) -> None:
    b = breaker(clock)
    for _ in range(3):
        b.record_failure()
    clock.now += 10.0
    b.before_call()
    b.record_failure()
    assert b.state is BreakerState.OPEN
    clock.now += 9.9
    with pytest.raises(BreakerOpen):
        b.before_call()
    clock.now += 0.1
    b.before_call()


def test_threshold_must_be_positive() -> None:
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(failure_threshold=0)
