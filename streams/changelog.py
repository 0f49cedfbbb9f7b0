"""Table changelogs through librdkafka instead of Faust's aiokafka producer.

Faust sends a changelog record for every table write through its own
producer: a ``FutureMessage``, the producer buffer, aiokafka's accumulator
and sender, lz4 in Python and a callback per record. In the B1 profile of
``make bench`` that path took about a tenth of the worker's time. The records
need none of it: a :class:`LogTable` hands each one to a librdkafka producer
of the worker's own (:class:`Changelogs`), to the current event's partition
as Faust does, and keeps Faust's table in every other respect (store,
recovery, standbys, the changelog topic and its name).

What Faust's path did besides sending, and where it is done now:

* **Persisted offsets.** Faust's store keeps, per partition, the last
  changelog offset the broker acknowledged: a restart's recovery reads on
  from there. Faust set it from each record's callback; :class:`Changelogs`
  gathers the acknowledged offsets per partition and writes them after each
  flush. One behind is harmless: recovery then rewrites records the store
  already holds, in order.
* **Durable before the commit.** Source offsets may be committed only once
  the state they cover is in the changelogs. The batching transport runs its
  ``before_commit`` hooks, this producer's flush among them, before each
  commit, as it flushes Faust's producer (``streams.transport.driver``); the
  ``take`` mode flushes after each round. A record the broker refused ends
  the worker (:func:`streams.processor.crash`): committing past it would lose
  state, and a fresh process restores and redoes the uncommitted runs.
* **Durable before a partition is given up.** Faust flushes its producer
  when partitions are revoked, before the rebalance goes on. A record still
  in flight then would reach the changelog after the new owner restored from
  it, possibly after that owner's own records for the same key, and the next
  restore would take the stale value last (row 2 of the fault suite found
  lost changes that way). So the flush also runs on Faust's
  ``on_partitions_revoked`` signal, which Faust awaits inside the revoke, and
  when the batching driver's consumer stops, before the group is left.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import faust
from confluent_kafka import KafkaError, KafkaException, Message
from faust.types import TP

from schemas.settings import Settings
from streams.exceptions import EmitFailed
from streams.output import POLL_WAIT_S, Output
from streams.processor import crash
from streams.transport import before_commit

if TYPE_CHECKING:
    from faust.types.stores import StoreT

logger = logging.getLogger(__name__)


class Changelogs(Output):
    """The worker's changelog producer: records with explicit partitions, acked offsets kept."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings, role="changelog")
        self._acked: dict[tuple[str, int], int] = {}
        self._stores: dict[str, StoreT[Any, Any]] = {}

    def track(self, topic: str, store: StoreT[Any, Any]) -> None:
        """Write ``topic``'s acknowledged offsets into ``store`` after each flush."""
        self._stores[topic] = store

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            super()._delivered(err, msg)
            return
        offset = msg.offset()
        if offset is not None and offset >= 0:
            self._acked[(msg.topic() or "", msg.partition() or 0)] = offset

    def write(self, topic: str, partition: int, key: bytes | None, value: bytes | None) -> None:
        """Queue one changelog record; synchronous, as Faust's table writes are."""
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, partition=partition, on_delivery=self._delivered
                )
                break
            except BufferError:
                self._producer.poll(POLL_WAIT_S)  # librdkafka's queue is full: let it drain
            except KafkaException as exc:
                raise EmitFailed(f"cannot write changelog {topic}: {exc.args[0]}") from exc
        self._producer.poll(0)

    async def flush(self, timeout_s: float = 60.0) -> None:
        """Wait for every queued record, then record the acknowledged offsets in the stores."""
        await super().flush(timeout_s)
        acked, self._acked = self._acked, {}
        for (topic, partition), offset in acked.items():
            store = self._stores.get(topic)
            if store is not None:
                store.set_persisted_offset(TP(topic, partition), offset)


class LogTable(faust.Table[Any, Any]):
    """Faust's table, its changelog records written by :class:`Changelogs` once attached."""

    writer: Changelogs | None = None

    def on_key_set(self, key: Any, value: Any) -> None:
        if self.writer is None:
            super().on_key_set(key, value)
            return
        self._maybe_set_key_ttl(key, self._log(key, value))
        self._sensor_on_set(self, key, value)

    def on_key_del(self, key: Any) -> None:
        if self.writer is None:
            super().on_key_del(key)
            return
        self._maybe_del_key_ttl(key, self._log(key, None))
        self._sensor_on_del(self, key)

    def _log(self, key: Any, value: Any) -> int:
        """Send the write to the changelog partition of the current event; returns it."""
        assert self.writer is not None
        partition = self.partition_for_key(key)
        if partition is None:
            raise TypeError(f"table {self.name} writes need the current event's partition")
        serializers = self.app.serializers
        key_bytes = serializers.dumps_key(self.key_type, key, serializer=self.key_serializer)
        value_bytes = (
            None
            if value is None
            else serializers.dumps_value(self.value_type, value, serializer=self.value_serializer)
        )
        self.writer.write(self.changelog_topic.get_topic_name(), partition, key_bytes, value_bytes)
        return partition


def attach(app: faust.App, log: Changelogs) -> int:
    """Route every :class:`LogTable` of ``app`` through ``log``; returns how many."""
    attached = 0
    for table in app.tables.values():
        if isinstance(table, LogTable):
            table.writer = log
            log.track(table.changelog_topic.get_topic_name(), table.data)
            attached += 1
    return attached


def drained(app: faust.App, timeout_s: float = 10.0) -> bool:
    """After the worker stopped: whether every changelog record it queued is acknowledged.

    Faust's last commit flushed what its runs wrote before it; this catches
    anything written after. A record still queued means the local store holds
    a write its changelog may not: the stop is then not a clean one
    (:mod:`streams.cleanstop` keeps the running mark and the next start
    restores from the changelogs).
    """
    writers = {t.writer for t in app.tables.values() if isinstance(t, LogTable)}
    left = sum(w.close(timeout_s) for w in writers if w is not None)
    if left:
        logger.error("%d changelog records unacknowledged at exit: local state not trusted", left)
    return left == 0


def install(app: faust.App, log: Changelogs, batched: bool) -> int:
    """Route the app's tables through ``log`` and flush it where Faust flushes its producer."""
    attached = attach(app, log)
    flush = durable(log)
    if batched:
        before_commit(app).append(flush)

    async def on_revoked(sender: Any, *args: Any, **kwargs: Any) -> None:
        await flush()

    app.on_partitions_revoked.connect(on_revoked)  # type: ignore[arg-type]
    return attached


def durable(log: Changelogs) -> Callable[[], Awaitable[None]]:
    """The flush to run before committing source offsets; a refused record ends the worker."""

    async def flush() -> None:
        try:
            await log.flush()
        except EmitFailed as exc:
            crash("changelogs", exc)

    return flush
