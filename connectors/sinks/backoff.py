"""Exponential backoff with jitter between delivery attempts.

Jitter spreads the retries of many keys that failed at the same moment (an
endpoint restart) so they do not all come back at once. A delay is drawn
from ``[base * (1 - jitter), base]``, where ``base`` grows by ``multiplier``
per attempt up to ``max_s``: never longer than the cap, never zero unless
``jitter`` is 1.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """The delay before retry number ``attempt`` (1 = after the first failure)."""

    initial_s: float = 0.2
    multiplier: float = 2.0
    max_s: float = 10.0
    jitter: float = 0.5
    random: Callable[[], float] = field(default=random.random, compare=False)

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < 0 or self.multiplier < 1:
            raise ValueError("backoff needs initial_s >= 0, max_s >= 0 and multiplier >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("backoff jitter is a share between 0 and 1")

    def base(self, attempt: int) -> float:
        """The delay without jitter: ``initial * multiplier ** (attempt - 1)``, capped."""
        if attempt < 1:
            raise ValueError(f"attempt counts from 1, got {attempt}")
        exponent = min(attempt - 1, 64)  # beyond this every float is past any sane cap
        return float(min(self.max_s, self.initial_s * self.multiplier**exponent))

    def delay(self, attempt: int) -> float:
        """The jittered delay to sleep before the next attempt."""
        base = self.base(attempt)
        return base * (1.0 - self.jitter * self.random())

    def schedule(self, attempts: int) -> list[float]:
        """The un-jittered delays between ``attempts`` tries (for docs and tests)."""
        return [self.base(n) for n in range(1, attempts)]
