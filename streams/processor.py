"""What every domain's batch processor shares: the batch loop, the offset watermark, dead letters.

A processor only says how to apply one partition's run of records
(:meth:`BatchProcessor.apply_partition`); the loop that takes batches from the
stream, the replay guard, the outcome counter and the dead-letter hand-off are
the same for all of them.

Two delivery modes (``OMNI_STREAMS__BATCHING``):

* ``transport`` (default): sources are batch topics of the ``omnibatch://``
  driver, one Faust event per fetched run of one partition; Faust's per-record
  dispatch is paid once per run (see :mod:`streams.transport`).
* ``take``: plain Faust events grouped with ``take_events``, split by source
  partition, the last event of each group made current while it is applied.

The offset watermark
--------------------
Event ids make a redelivered event harmless, but only within the window of
ids a key remembers (:mod:`streams.common.idempotency`). A replay of a topic
segment (a consumer group reset, a restore of older offsets) can exceed that
window on a hot key. So each processor also keeps, per source topic and
partition, the last offset it applied, in its own table under a reserved key
(same store partition and changelog partition as the state it guards).
Records at or below it are skipped before they are decoded.

Order of a run of records (an outbox, in effect):

1. apply the rules in memory and emit everything the run causes (views,
   commands to other processors, answers, facts, dead letters);
2. flush the producer: all of it is acknowledged;
3. write what the run hands to another processor's table in process (only
   identity does, :mod:`streams.identity.handoff`) and wait until its
   changelog records are acknowledged: it is an effect too;
4. write the touched table keys, then the watermark (:mod:`streams.changelog`:
   the store at once, the changelog record through the emissions' producer);
   these must be durable before the source offsets are committed: the
   transport's producer flushes them before each commit (once per commit
   interval) and when partitions are revoked, the ``take`` mode flushes here
   (:mod:`streams.transport.producer`).

Steps 2 and 3 are round trips to the brokers, so they are shared: the runs
that are already waiting (at most ``OMNI_STREAMS__ROUND_MAX_RUNS``, default
64) form a round. The runs of one table partition (one per source topic, and
more when fetches queued up) are applied as one pass, so that each reads the
state the one before it left (step 1); then one flush for the round, its
handed state and one wait for it, then each pass's own writes (step 4).

A crash before 4 leaves the state as it was: the run is applied again and
its emissions repeat with the same deterministic ids (views are upserts, and
commands, answers and handed state are dropped as duplicates downstream). A
crash after 4 finds the watermark and skips the run.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from streams import transport
from streams.batching import RawRecord, batches, by_partition, current, raw

if TYPE_CHECKING:
    from faust.types import AppT, EventT, StreamT, TopicT
    from faust.types.tables import TableT

    from streams.app import Runtime
    from streams.transport.batch import RawRecord as Record

log = logging.getLogger(__name__)
WATERMARK_PREFIX = b"\x00offset\x00"


def watermark_key(topic: str) -> bytes:
    """The reserved table key of ``topic``'s watermark; ids never contain NUL."""
    return WATERMARK_PREFIX + topic.encode()


def by_table_partition(
    runs: Sequence[tuple[EventT[Any], Sequence[Record]]],
) -> list[tuple[list[EventT[Any]], list[Record]]]:
    """Each table partition's runs joined: their events, their records in the order runs came."""
    joined: dict[int, tuple[list[EventT[Any]], list[Record]]] = {}
    for event, records in runs:
        events, held = joined.setdefault(records[0].partition, ([], []))
        events.append(event)
        held.extend(records)
    return list(joined.values())


def is_reserved(key: bytes) -> bool:
    """Whether a table key is bookkeeping rather than domain state."""
    return key.startswith(b"\x00")


@dataclass(frozen=True, slots=True)
class Writes:
    """A run's table writes, in outbox order.

    ``handed`` writes another processor's table in process (identity's stage 2,
    :mod:`streams.identity.handoff`). It is an effect of the run, like an
    emission, but it is a write to another changelog:
    ``own`` (this table's keys and the watermark, which say the run happened
    and make a rerun skip it) is written only once ``handed`` was acknowledged.
    The other way round, a crash between the two changelogs lost the handed
    state for good: the rerun found the run applied in this table.
    """

    own: Callable[[], None]
    handed: Callable[[], None] | None = None


Written = Callable[[], None] | Writes


EXIT_AGENT_CRASHED = 70  # EX_SOFTWARE: a supervisor restarts the worker


def crash(processor: str, exc: BaseException) -> NoReturn:
    """End the worker at once: an agent that raised must not leave a worker that looks alive.

    Faust restarts a crashed agent and keeps serving ``/metrics`` and the API,
    so a worker whose agent fails on every run (faust #175, robinhood #586)
    looks healthy while its partitions stand still. Bad records never get
    here (they are dead-lettered); what does is a broken environment, and the
    fix is a fresh process. Exiting without cleanup is safe for the same
    reason ``kill -9`` is: a run's state is written only after its emissions
    were acknowledged, and offsets are committed only after the state.
    """
    log.critical("agent %s crashed; the worker exits to be restarted", processor, exc_info=exc)
    logging.shutdown()
    os._exit(EXIT_AGENT_CRASHED)


class BatchProcessor(abc.ABC):
    """Base of the domain processors; ``runtime`` and ``table`` are set by the subclass."""

    runtime: Runtime
    table: TableT[Any, Any]
    app: AppT

    def source_topic(self, app: AppT, *names: str, partitions: int) -> TopicT:
        """The agent's source: batch topics with the transport, raw topics otherwise."""
        self.app = app
        if self.runtime.batched:
            return transport.batch_topic(app, *names, partitions=partitions)
        return app.topic(
            *names, key_serializer="raw", value_serializer="raw", partitions=partitions
        )

    async def run(self, stream: StreamT[Any]) -> None:
        """The agent body; an unexpected error ends the worker process (see :func:`crash`)."""
        try:
            await self._run(stream)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            crash(type(self).__name__, exc)

    async def _run(self, stream: StreamT[Any]) -> None:
        """Rounds of partition runs, each run applied in offset order."""
        if self.runtime.batched:
            limit = self.runtime.settings.streams.round_max_runs
            async for round_ in transport.rounds(stream, limit):
                await self.apply_round([(event, batch.records) for event, batch in round_])
            return
        streams = self.runtime.settings.streams
        async for events in batches(stream, streams.batch_max_records, streams.batch_max_wait_s):
            groups = by_partition(events).values()
            await self.apply_round([(group[-1], [raw(e) for e in group]) for group in groups])
            # Faust commits offsets without flushing changelogs first; the batching
            # transport flushes once before each commit instead of once per round.
            await self.app.producer.flush()

    async def apply_round(self, runs: Sequence[tuple[EventT[Any], Sequence[Record]]]) -> None:
        """Apply every run of the round in one pass per table partition, then flush once.

        A fetch brings a run of each source topic for a partition, and more
        than one when fetches queued up. Applied one by one, each run of a
        partition already in the round had to wait until the runs before it
        were flushed and written (it reads their state): about four flushes
        and round trips per round of identity at 1k events/s, which was most
        of a hop's latency. So a partition's runs are applied as one: their
        records in the order the runs came (each topic's in offset order), one
        read and one write per key, one flush for the whole round. Runs of
        other partitions touch other keys (tables are co-partitioned with their
        sources).
        """
        # A run whose partition may have moved is left to whoever owns it now: applying
        # it would emit effects (dead letters, commands) from a table that may lack an
        # earlier run of it. Runs are fenced one by one, before they are joined: a round
        # can hold a run fetched before a rebalance and the same partition's next run,
        # fetched after the seek that follows it, and fencing the two together lost the
        # second for good (the fault suite's row 2b: the watermark later skipped it).
        live = [(event, records) for event, records in runs if not self._fenced([event])]
        pending: list[tuple[list[EventT[Any]], Writes | None]] = []
        for events, records in by_table_partition(live):
            with current(events[-1]):
                writes = await self.apply_records(records)
            pending.append((events, writes))
        await self._settle(pending)

    async def _settle(self, pending: Sequence[tuple[list[EventT[Any]], Writes | None]]) -> None:
        """Every effect out before the state that says it happened (see the module docstring)."""
        if not pending:
            return
        await self.runtime.out.flush()
        # A partition that moved during a flush is left to its new owner.
        ready = [(events, writes) for events, writes in pending if not self._fenced(events)]
        handed = [
            (events[-1], w.handed) for events, w in ready if w is not None and w.handed is not None
        ]
        if handed:
            await self._hand(handed)
            ready = [(events, writes) for events, writes in ready if not self._fenced(events)]
        for events, writes in ready:
            if writes is not None:
                with current(events[-1]):
                    writes.own()
            for event in events:
                transport.settle(event)

    async def _hand(self, handed: Sequence[tuple[EventT[Any], Callable[[], None]]]) -> None:
        """Write the handed state and wait until its changelog records are acknowledged."""
        for event, write in handed:
            with current(event):
                write()
        await self.runtime.changelog.flush()

    def _fenced(self, events: Sequence[EventT[Any]]) -> bool:
        if any(transport.revoked(event) for event in events):
            self._fence()
            return True
        return False

    def _fence(self) -> None:
        """A run left unwritten and unsettled: its offsets are not committed."""
        self.runtime.metrics.fenced.labels(type(self).__name__).inc()

    async def apply_records(self, records: Sequence[Record]) -> Writes | None:
        """Skip what the watermarks cover, apply the rest; return the table writes to make.

        ``records`` are one table partition's, of one or more source topics,
        each topic's in offset order; each topic has its own watermark.
        """
        marks: dict[str, int] = {}
        fresh = []
        for record in records:
            mark = marks.get(record.topic)
            if mark is None:
                mark = marks[record.topic] = self.watermark(record.topic)
            if record.offset > mark:
                fresh.append(record)
        if len(fresh) < len(records):
            self._count_replayed(records, fresh)
        if not fresh:
            return None
        written = await self.apply_partition(fresh)
        if not isinstance(written, Writes):
            written = Writes(written)
        store = written.own
        lasts = {record.topic: record.offset for record in fresh}  # each topic's is its last

        def own() -> None:
            store()
            for topic, last in lasts.items():
                self.write(watermark_key(topic), str(last).encode())

        return Writes(own, written.handed)

    def _count_replayed(self, records: Sequence[Record], fresh: Sequence[Record]) -> None:
        skipped = Counter(record.topic for record in records)
        skipped.subtract(record.topic for record in fresh)
        for topic, count in skipped.items():
            if count:
                self.runtime.metrics.events.labels(topic, "unknown", "replayed").inc(count)

    def write(self, key: bytes, value: bytes) -> None:
        """Set a key of this processor's table (store and changelog, :mod:`streams.changelog`)."""
        self.runtime.changelog.write(self.table, key, value)

    def watermark(self, topic: str) -> int:
        data = self.table.get(watermark_key(topic))
        return int(data) if data is not None else -1

    @abc.abstractmethod
    async def apply_partition(self, records: Sequence[Record]) -> Written:
        """Apply one partition's run of records: decode, rules, emit; return the table writes.

        The writes are returned rather than done so that they happen only after
        everything the run emitted was acknowledged (outbox order): a crash in
        between re-applies the run, and deterministic ids make the re-emitted
        records duplicates downstream.
        """

    def count(self, record: Record, name: str, outcome: str) -> None:
        self.tally(record.topic, name, outcome)

    def tally(self, topic: str, name: str, outcome: str) -> None:
        self.runtime.metrics.events.labels(topic, name, outcome).inc()

    async def dead_letter(self, record: Record, reason: str, error: BaseException | str) -> None:
        """Hand a poison record to the dead-letter topic; the batch goes on."""
        self.count(record, "unknown", "dead_letter")
        await self.runtime.dead_letters.send(
            key=record.key,
            value=record.value,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            reason=reason,
            error=error,
        )


__all__ = [
    "BatchProcessor",
    "RawRecord",
    "Writes",
    "Written",
    "by_table_partition",
    "is_reserved",
    "watermark_key",
]
