"""The retry schedule: exponential, capped, jittered downwards only."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sinks.backoff import Backoff


def test_schedule_doubles_from_the_initial_delay_up_to_the_cap() -> None:
    backoff = Backoff(initial_s=0.5, multiplier=2.0, max_s=3.0, jitter=0.0)
    assert backoff.schedule(6) == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_without_jitter_the_delay_is_the_base() -> None:
    backoff = Backoff(initial_s=0.2, multiplier=3.0, max_s=100.0, jitter=0.0)
    assert [backoff.delay(n) for n in (1, 2, 3)] == pytest.approx([0.2, 0.6, 1.8])


@pytest.mark.parametrize(("draw", "expected"), [(0.0, 4.0), (0.5, 3.0), (1.0, 2.0)])
def test_jitter_takes_up_to_its_share_off_the_base(draw: float, expected: float) -> None:
    backoff = Backoff(initial_s=1.0, multiplier=2.0, max_s=60.0, jitter=0.5, random=lambda: draw)
    assert backoff.delay(3) == pytest.approx(expected)


def test_jittered_delays_stay_within_bounds_and_differ() -> None:
    backoff = Backoff(initial_s=1.0, multiplier=2.0, max_s=8.0, jitter=0.5)
    delays = [backoff.delay(4) for _ in range(200)]
    assert all(4.0 <= d <= 8.0 for d in delays)
    assert len(set(delays)) > 1


def test_huge_attempt_numbers_stay_at_the_cap() -> None:
    assert Backoff(initial_s=1.0, max_s=5.0, jitter=0.0).delay(10_000) == 5.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial_s": -1.0}, {"multiplier": 0.5}, {"jitter": 1.5}, {"max_s": -2.0}],
)
def test_nonsense_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError, match="attempt counts from 1"):
        Backoff().delay(0)
