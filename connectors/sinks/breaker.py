"""A circuit breaker per endpoint: stop calling an endpoint that keeps failing.

Closed: calls go through; ``failure_threshold`` retryable failures in a row
open it. Open: calls fail at once with ``BreakerOpen`` (they count as a
failed attempt and back off like any other), so a dead endpoint is not
hammered by every key's retries. After ``reset_s`` it is half-open: exactly
one trial call goes through; success closes it, failure opens it again.

Only failures that say the endpoint is unwell count (timeouts, 5xx); a 4xx
rejection means it is up and answering.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import IntEnum

from connectors.sinks.exceptions import BreakerOpen


class BreakerState(IntEnum):
    """The value the ``omni_sink_breaker_state`` gauge shows."""

    CLOSED = 0
    OPEN = 1
    HALF_OPEN = 2


class CircuitBreaker:
    """Not thread-safe: one asyncio loop owns it (no await between check and update)."""

    def __init__(
        self,
        failure_threshold: int = 5,
        reset_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[BreakerState], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self.failure_threshold = failure_threshold
        self.reset_s = reset_s
        self._clock = clock
        self._on_change = on_change
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_out = False

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose time is up reads as half-open)."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_s:
            self._set(BreakerState.HALF_OPEN)
        return self._state

    def before_call(self) -> None:
        """Raise ``BreakerOpen`` unless a call may go out now."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._trial_out:
            self._trial_out = True
            return
        remaining = max(0.0, self.reset_s - (self._clock() - self._opened_at))
        raise BreakerOpen(
            f"circuit open ({self._failures} failures); next trial in {remaining:.1f}s"
        )

    def record_success(self) -> None:
        self._failures = 0
        self._trial_out = False
        self._set(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self._failures += 1
        self._trial_out = False
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def _set(self, state: BreakerState) -> None:
        if state is not self._state:
            self._state = state
            if self._on_change is not None:
                self._on_change(state)
