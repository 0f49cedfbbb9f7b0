"""Pacing: at most ``rate`` channel messages a second, however many journeys run at once.

Each sender reserves its slot on one timeline before it sends: a request of
``n`` messages moves the timeline ``n / rate`` seconds on. A sender that is
late (the connectors answered slowly) does not earn a burst afterwards: the
timeline restarts from now, so the rate is a ceiling, never exceeded to
catch up. A rate of 0 means unpaced.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.clock = clock
        self.sleep = sleep
        self.next_at = clock()

    def reserve(self, count: int) -> float:
        """Seconds to wait before sending ``count`` messages (and book their slot)."""
        now = self.clock()
        start = max(self.next_at, now)
        self.next_at = start + count * self.interval
        return start - now

    async def wait(self, count: int) -> None:
        delay = self.reserve(count)
        if delay > 0:
            await self.sleep(delay)
