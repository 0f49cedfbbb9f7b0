"""Faust's aiokafka producer with a flush that waits until every buffered record is acknowledged.

Writes of Faust tables (``table[key] = value``) reach their changelogs through
Faust's ``ProducerBuffer``: a write puts a future on a queue and a background
task hands it to aiokafka.
Faust's ``Producer.flush`` drains that queue with ``flush_atmost``, which
*returns* as soon as one record takes more than 0.1 s to be handed over, and
never counts the record the background task holds. Under CPU load a flush
therefore often returned with changelog records still queued; the commit
that followed it recorded source offsets whose table writes no broker had
seen, and a ``kill -9`` just after lost those writes for good: the restarted
worker restored the changelog without them and fetched from past their
sources. The fault suite's crash row lost keys this way in CI, where the
other half of the suite competes for the two cores.

So :meth:`Producer.flush` keeps the futures of what ``send_soon`` buffered and,
after Faust's flush, waits for each one that was buffered before it began:
a future resolves only when the broker acknowledged the record, or fails
with the producer's error, which the flush raises instead of letting a
commit pass it.

The processors' own tables write their changelogs through librdkafka
instead (:mod:`streams.changelog`); that writer's flush is a barrier of this
one (:meth:`Producer.also_flush`), so commits and the stop wait for it too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.tuples import FutureMessage

from streams.transport.exceptions import ChangelogNotAcknowledged

log = logging.getLogger(__name__)
ACK_POLL_S = 0.05  # how long one wait lasts before Faust's flush is asked again
STOP_FLUSH_S = 10.0  # per wait: how long a stopping worker waits for its last changelog records


class Producer(faust_aiokafka.Producer):
    """aiokafka producer whose :meth:`flush` is a barrier for everything ``send_soon`` buffered."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unacked: set[asyncio.Future[Any]] = set()
        self._failed: dict[asyncio.Future[Any], BaseException] = {}
        self.stopped_clean = True
        self._barriers: list[Callable[[], Awaitable[None]]] = []

    def send_soon(self, fut: FutureMessage) -> None:
        self._unacked.add(fut)
        fut.add_done_callback(self._settled)
        super().send_soon(fut)

    def also_flush(self, barrier: Callable[[], Awaitable[None]]) -> None:
        """Make :meth:`flush` wait for ``barrier`` too: records of the tables' own producer.

        The processors' tables send their changelog records through another
        producer (:mod:`streams.changelog`); commits and the stop must wait for
        those as for Faust's own.
        """
        self._barriers.append(barrier)

    def _settled(self, fut: asyncio.Future[Any]) -> None:
        """A buffered record's future is done: forget it, remember it if it failed.

        Also called by :meth:`flush` itself, which can see a future done before
        this callback has run.
        """
        self._unacked.discard(fut)
        if fut.cancelled():
            self._failed[fut] = asyncio.CancelledError("a buffered record was cancelled")
        elif (error := fut.exception()) is not None:
            self._failed[fut] = error

    @property
    def unacknowledged(self) -> int:
        """Records buffered by ``send_soon`` and not acknowledged yet."""
        return len(self._unacked)

    async def flush(self) -> None:
        """Return once every record buffered before the call is acknowledged.

        Faust's flush is asked again between waits: it also makes aiokafka send
        what it lingers on, and what the buffer handed over meanwhile. A record
        that failed, now or since the worker started, fails every flush: the
        changelog lacks a write its table holds, so no commit may pass it (the
        driver crashes the worker, whose restart restores from the changelog).
        Then each barrier of :meth:`also_flush` is waited for, and raises the same way.
        """
        buffered = list(self._unacked)
        await super().flush()
        waiting = buffered
        while waiting := [fut for fut in waiting if not fut.done()]:
            await asyncio.wait(waiting, timeout=ACK_POLL_S)
            await super().flush()
        for fut in buffered:
            self._settled(fut)
        self._raise_failed()
        for barrier in self._barriers:
            await barrier()

    def _raise_failed(self) -> None:
        if self._failed:
            error = next(iter(self._failed.values()))
            raise ChangelogNotAcknowledged(
                f"{len(self._failed)} buffered record(s) not acknowledged, first: {error!r}"
            ) from error

    async def on_stop(self) -> None:
        """Wait for the last records before aiokafka stops; say so if they did not make it.

        Faust stops its aiokafka producer before the buffer that feeds it, so
        what the buffer still held was dropped at a stop. A worker whose last
        changelog records are not acknowledged must not call its stop clean:
        its local stores would be trusted at the next start
        (:mod:`streams.cleanstop`) while the changelogs lack writes they hold.
        """
        try:
            await asyncio.wait_for(self.flush(), STOP_FLUSH_S)
        except (TimeoutError, ChangelogNotAcknowledged) as exc:
            self.stopped_clean = False
            log.error(
                "changelog records not acknowledged at stop (%r): local tables will be "
                "restored from the changelogs at the next start",
                exc,
            )
        await super().on_stop()


def stopped_clean(producer: object) -> bool:
    """Whether a stopped app's producer saw every changelog record acknowledged."""
    return not isinstance(producer, Producer) or producer.stopped_clean
