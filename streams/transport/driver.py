"""The ``omnibatch://`` driver: Faust's aiokafka driver, one message per fetched run.

Faust spends ~140 µs of dispatch on every message (conductor, stream queue,
Event, ack bookkeeping). This driver keeps all of Faust (group membership,
partition assignment, tables, changelogs, recovery, commits, the web server)
and changes one thing about delivery: for topics declared with
:func:`streams.transport.batch_topic`, the records that one fetch returned for
one topic-partition become ONE Faust message, so the dispatch cost is paid per
batch. It also mends two hazards of Faust's own consumer for every topic: a
fetch that loses records around a rebalance's seek (:meth:`Consumer._getmany`)
and a commit that runs ahead of the producer (:meth:`Consumer._commit_tps`,
:mod:`streams.transport.producer`).

Why this is safe
----------------
* **Ordering and partitioning.** A batch holds records of one partition in
  offset order; the Faust message has that partition, so a table written while
  the batch's event is current writes to the same partition's store and
  changelog partition, as with per-record events (tables stay co-partitioned).
* **Commits (at-least-once per batch).** The message's offset is the batch's
  last record, so Faust commits ``last + 1`` only after the agent acked the
  whole batch. Which offsets may be committed is decided by a
  :class:`~streams.transport.ledger.Ledger` rather than Faust's gap tree (see
  its docstring for why): a commit never passes a batch that is not settled,
  and holes between batches belong to the later batch, so nothing is skipped.
* **Crashes.** What was not committed is fetched again: after ``kill -9`` a
  worker redoes exactly the batches it finished since its last commit (about
  ``broker_commit_interval`` of work) plus the one in flight. Effects are made
  idempotent by event ids, as for any at-least-once Faust agent.
* **Rebalances and seeks.** Revoked partitions and older generations are
  dropped from the ledger (Faust skips their messages); a batch fetched again
  after a seek back only repeats listed offsets and never moves the commit.
  Runs delivered while Faust's recovery seeks are kept in the agents' queues
  rather than dropped by its last resume (:mod:`streams.transport.flow`), and
  no stream record is fetched only to be dropped by Faust's fetch loop, nor
  read from past such a drop before the recovery's seek is complete
  (:meth:`Consumer._getmany`).

It also makes Faust's pauses of changelog partitions real in aiokafka
(:class:`ConsumerThread`): without that, the worker's own changelog writes
are fetched and never taken, which holds every fetch back by 100 ms.

Topics not declared as batch topics (changelogs during recovery, repartition
topics, ordinary agents) take Faust's normal per-record path unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, ClassVar

from faust.exceptions import ProducerSendError
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, ConsumerT, ProducerT, TransportT
from faust.types.transports import ConsumerCallback
from faust.types.tuples import ConsumerMessage, Message

from streams.transport.batch import BatchMessage, RawRecord, RecordBatch, in_flow
from streams.transport.exceptions import ChangelogNotAcknowledged
from streams.transport.ledger import Ledger
from streams.transport.producer import STOP_FLUSH_S, Producer

BATCH_SCHEME = "omnibatch"

RecordMap = Mapping[TP, list[Any]]
SEEK_POLL_S = 0.01  # how often the fetch loop looks again while a seek is pending


@dataclass(frozen=True, slots=True)
class _Run:
    """The records of one partition from one fetch, standing in for one record."""

    records: Sequence[RawRecord]


class ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    """Faust's consumer thread, with Faust's pauses of changelog partitions made real in aiokafka.

    Faust "pauses" an active table's changelog partitions after recovery only
    in its own bookkeeping (``Consumer.pause_partitions`` takes them out of
    the set it asks records for); aiokafka is never told. Its fetcher keeps
    fetching them (the worker's own changelog writes), and a fetched result
    nobody takes holds back every next fetch from that broker for
    ``prefetch_backoff`` (100 ms, ``aiokafka/consumer/fetcher.py``,
    ``_get_actions_per_node``). Measured at 1k events/s: records were about
    100 ms old when a fetch handed them over, on every hop.

    So before each fetch the thread (which owns the aiokafka consumer) pauses
    in aiokafka the changelog partitions Faust has paused, dropping what was
    already fetched for them (their position has not moved: nothing is
    skipped), and resumes those Faust resumed (recovery, standbys).
    """

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: set[TP],
        timeout: float | None = None,
        max_records: int | None = None,
    ) -> RecordMap:
        self._mirror_pauses(consumer)
        return await super()._fetch_records(
            consumer, active_partitions, timeout=timeout, max_records=max_records
        )

    def _mirror_pauses(self, consumer: Any) -> None:
        """Make aiokafka's paused changelog partitions the ones Faust has paused."""
        pause, resume = mirrored_pauses(
            assigned=consumer.assignment(),
            faust_paused=set(self.consumer._paused_partitions),  # one C-level copy
            aiokafka_paused=consumer.paused(),
            changelogs=self.app.tables.changelog_topics,
        )
        fetched = consumer._fetcher._records
        for tp in pause:
            consumer.pause(tp)
            fetched.pop(tp, None)
        for tp in resume:
            consumer.resume(tp)


def mirrored_pauses(
    assigned: AbstractSet[Any],
    faust_paused: AbstractSet[Any],
    aiokafka_paused: AbstractSet[Any],
    changelogs: AbstractSet[str],
) -> tuple[set[Any], set[Any]]:
    """Changelog partitions to pause and to resume in aiokafka so that it matches Faust.

    Partitions come from aiokafka's own sets (it wants its ``TopicPartition``,
    which equals Faust's ``TP``: both are tuples). What aiokafka has paused is
    asked each time rather than remembered: a rebalance gives reassigned
    partitions a fresh, unpaused state there. Other topics are left alone.
    """
    want = {tp for tp in assigned if tp.topic in changelogs and tp in faust_paused}
    have = {tp for tp in aiokafka_paused if tp.topic in changelogs}
    return want - have, have - want


class Consumer(faust_aiokafka.Consumer):
    """aiokafka consumer that delivers batch topics as one message per partition per fetch."""

    def _new_consumer_thread(self) -> faust_aiokafka.AIOKafkaConsumerThread:
        return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __init__(
        self, transport: TransportT, callback: ConsumerCallback, *args: Any, **kwargs: Any
    ) -> None:
        self._ledger = Ledger()
        self._sought: int | None = None
        super().__init__(transport, self._listing(callback), *args, **kwargs)

    @property
    def batch_topics(self) -> set[str]:
        transport = self.transport
        return transport.batch_topics if isinstance(transport, Transport) else set()

    def _listing(self, deliver: ConsumerCallback) -> ConsumerCallback:
        """Wrap the conductor's callback: list a batch in the ledger as it is handed over.

        Listing happens here rather than when the message is built because
        ``_drain_messages`` drops messages below its read offset (after a seek)
        without calling back; a dropped batch listed at build time would never
        settle and would stop commits on its partition for good.
        """
        register = self._ledger.register

        async def on_message(message: Message) -> None:
            if type(message) is BatchMessage:
                register(message.tp, message, message.generation_id)
            await deliver(message)

        return on_message

    async def _getmany(self, active_partitions: set[TP] | None, timeout: float) -> RecordMap:
        """Fetch so that no record is read from past a hole that a seek will reopen.

        Faust drops fetched records of a partition that is not active (paused)
        without moving aiokafka's position back; the recovery's seek to the
        committed offsets puts the positions back, one partition at a time.
        Data was lost when a fetch made *during* that seek read a partition
        not sought yet, from past such a hole: the run was applied, and its
        offset watermark skipped the hole once the seek brought it back. The
        fault suite's rebalance row lost a stretch of every source partition a
        joining worker took over this way, in about one run of seven. The
        drops come two ways:

        * Faust passes its *live* set of active partitions, and aiokafka waits
          on it in the consumer thread. When a recovery ends Faust pauses the
          changelogs it was reading; the set empties while the fetch waits, and
          aiokafka reads an empty set as "every assigned partition"
          (``Fetcher.fetched_records``). So aiokafka gets a copy of the set.
        * A fetch made before a rebalance returns after it, while the stream
          partitions are paused for the recovery.

        So a seek is exclusive: while one runs, and until the current
        generation's has completed (:meth:`perform_seek`), only changelogs are
        fetched, and every partition is read again from where it was sought.
        """
        if active_partitions is not None:
            wanted = set(active_partitions)
            if self._sought != self.app.consumer_generation_id:
                wanted = {tp for tp in wanted if self._is_changelog_tp(tp)}
            if not wanted:
                await asyncio.sleep(SEEK_POLL_S)
                return {}
            active_partitions = wanted
        records: RecordMap = await super()._getmany(active_partitions, timeout)
        topics = self.batch_topics
        if not topics or not records:
            return records
        return {
            tp: [_Run(run)] if run and tp.topic in topics else run for tp, run in records.items()
        }

    async def perform_seek(self) -> None:
        """Faust's seek of every partition to its committed offset; see :meth:`_getmany`."""
        generation = self.app.consumer_generation_id
        self._sought = None
        await super().perform_seek()
        self._sought = generation

    def _to_message(self, tp: TP, record: Any) -> ConsumerMessage:
        if type(record) is not _Run:
            return super()._to_message(tp, record)
        batch = RecordBatch(tp, record.records)
        return BatchMessage(batch, self.app.consumer_generation_id)

    def ack(self, message: Message) -> bool:
        """Flag acks of batches that were skipped, not processed, before Faust records them.

        Faust's pure-Python stream iterator acks a message it drops because the
        flow stopped (rebalance, shutdown) or the generation changed. Its Cython
        iterator does not call this method at all; it acks only what it
        delivered, so nothing needs flagging there.
        """
        if isinstance(message, BatchMessage) and not message.acked and not self._flowing(message):
            message.skipped = True
        return bool(super().ack(message))

    def _flowing(self, message: Message) -> bool:
        return in_flow(self.app, message)

    def _new_offset(self, tp: TP) -> int | None:
        if tp.topic not in self.batch_topics:
            return super()._new_offset(tp)
        # Faust's per-offset lists only ever hold last offsets of batches here:
        # keep them from growing; the ledger decides.
        self._acked[tp].clear()
        self._acked_index[tp].clear()
        return self._ledger.advance(tp)

    async def _add_gap(self, tp: TP, offset_from: int, offset_to: int) -> None:
        # Every batch looks like a gap to ``_drain_messages``; the ledger owns those offsets.
        if tp.topic not in self.batch_topics:
            await super()._add_gap(tp, offset_from, offset_to)

    async def _commit_tps(self, tps: Any, start_new_transaction: bool) -> bool:
        """Flush the producer between choosing the offsets and committing them.

        A commit must not pass a run whose changelog records no broker has
        acknowledged, or a crash just after it loses those table writes for
        good. Faust flushes before committing, but its flush is no barrier;
        the transport's producer's is (:mod:`streams.transport.producer`).
        The offsets are chosen *before* the flush: a run settled while the
        flush waits has its table writes in the buffer behind it, so it waits
        for the next commit. A record that failed crashes the worker instead
        of being committed past. (Faust's own ``_commit_tps`` is the same
        three steps with its flush inside the last.)
        """
        offsets = self._filter_committable_offsets(tps)
        if not offsets:
            return False
        try:
            # Stopping, the wait is bounded: a worker whose brokers are gone must still exit
            # on SIGTERM (its offsets stay uncommitted, so the runs are redone after it).
            await asyncio.wait_for(
                self.app.producer.flush(), STOP_FLUSH_S if self.should_stop else None
            )
            await self._handle_attached(offsets)
        except TimeoutError:
            self.log.warning("changelog records not acknowledged at stop: nothing committed")
            return False
        except (ProducerSendError, ChangelogNotAcknowledged) as exc:
            await self.crash(exc)
            return False
        return bool(
            await self._commit_offsets(offsets, start_new_transaction=start_new_transaction)
        )

    async def on_stop(self) -> None:
        """Faust's last commit, then every changelog record acknowledged before the group is left.

        The last commit flushes only when it has offsets to commit, and a run
        settled behind one that is not leaves none; its table writes must
        still be in the changelogs before another worker restores the
        partition. A flush that fails or times out here fails again at the
        producer's own stop, which then does not call the stop clean.
        """
        await super().on_stop()
        try:
            await asyncio.wait_for(self.app.producer.flush(), STOP_FLUSH_S)
        except (TimeoutError, ChangelogNotAcknowledged) as exc:
            self.log.warning("changelog records not acknowledged before leaving the group: %r", exc)

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        self._ledger.forget(revoked)
        await super().on_partitions_revoked(revoked)


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with the batching consumer and the acknowledging producer.

    ``batch_topics`` is per app (each app builds its own transport from its
    broker URL), filled by :func:`streams.transport.batch_topic`.
    """

    Consumer: ClassVar[type[ConsumerT]] = Consumer
    Producer: ClassVar[type[ProducerT]] = Producer

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.batch_topics: set[str] = set()
