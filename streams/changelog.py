"""Table writes: the store at once, the changelog record through the worker's librdkafka producer.

Why not ``table[key] = value``
------------------------------
Faust sends each write's changelog record through its aiokafka producer: a
``FutureMessage`` and a coroutine per record, a task draining a queue into
aiokafka's pure-Python batch builder and lz4, and a RocksDB put of the
persisted offset at every acknowledgement. The processors write two or three
keys an event, and ``make bench`` B1 spent 175 µs an event that way against
131 µs through here.

What stays Faust's: the tables, their stores and changelog topics, the
recovery and standbys that read those topics, the commits. What
:meth:`Changelog.write` does as Faust's ``Table.on_key_set`` does:

* the store write goes to the database of the current event's partition;
* the changelog record carries the table's stored key and value bytes (our
  tables are raw bytes both ways) to the current event's partition of the
  changelog (Faust's eager partitioning), so Faust's recovery and
  :mod:`streams.restore` read it as one of Faust's own;
* each store partition keeps the last acknowledged offset of its changelog
  partition (Faust's persisted offset), so a restart after a clean stop
  reads the changelog on from there.

Two differences, both safe:

* Persisted offsets are written once per partition at each :meth:`flush`,
  not at every acknowledgement. They may lag; a recovery then reads again
  records the store already holds, in log order, and each key ends at its
  last acknowledged write, which is also what the store holds.
* A record the brokers refuse fails the next flush
  (:class:`~streams.transport.exceptions.ChangelogNotAcknowledged`) rather
  than a future. The flush is the barrier every commit waits for
  (:mod:`streams.transport.producer`) and the one stage 1 waits for after
  handing state (:mod:`streams.processor`): no offset is committed past a
  write its changelog lacks.
"""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaError, Message
from faust.streams import current_event
from faust.tables.base import Collection
from faust.types import TP
from faust.types.tables import TableT

from streams.exceptions import EmitFailed, UnsupportedTable
from streams.output import Output
from streams.transport.exceptions import ChangelogNotAcknowledged

RAW = "raw"


class Changelog:
    """Writes tables of one worker; their changelog records share the emissions' producer."""

    def __init__(self, out: Output) -> None:
        self._out = out
        self._stores: dict[str, Any] = {}  # changelog topic -> its table's store
        self._acked: dict[tuple[str, int], int] = {}  # (topic, partition) -> last offset
        self._broken: ChangelogNotAcknowledged | None = None

    def write(self, table: TableT[Any, Any], key: bytes, value: bytes) -> None:
        """Set ``key`` in the current event's partition and queue its changelog record."""
        event = current_event()
        if event is None:
            raise UnsupportedTable(f"{table.name}: written while no event is current")
        topic, store = self._target(table)
        store._set(key, value)
        self._out.produce(topic, key, value, event.message.partition, self._delivered)

    def _target(self, table: TableT[Any, Any]) -> tuple[str, Any]:
        """The table's changelog topic and store; a table is checked when first written."""
        topic: str = table.changelog_topic.get_topic_name()
        store = self._stores.get(topic)
        if store is None:
            serializers = (
                (table.key_serializer, table.value_serializer)
                if isinstance(table, Collection)
                else None
            )
            if serializers != (RAW, RAW):
                raise UnsupportedTable(
                    f"{table.name}: only Faust tables of raw bytes are written here "
                    f"(key and value serializers: {serializers})"
                )
            store = self._stores[topic] = table.data
        return topic, store

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        """librdkafka's report, on whichever thread polled: only remember the offset."""
        if err is not None:
            self._out.failed(err, msg)
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        if topic is None or partition is None or offset is None:
            return  # never so for a delivered record; the types allow it
        if offset > self._acked.get((topic, partition), -1):
            self._acked[(topic, partition)] = offset

    def persist(self) -> None:
        """Give each store partition its changelog's last acknowledged offset."""
        acked, self._acked = self._acked, {}
        for (topic, partition), offset in acked.items():
            self._stores[topic].set_persisted_offset(TP(topic, partition), offset)

    async def flush(self) -> None:
        """Return once every write so far is in its changelog; raise if one is not.

        A refused record fails every later flush too, as in the transport's
        producer: its table holds a write the changelog lacks, so no commit
        may pass it and the stop is not clean.
        """
        try:
            await self._out.flush()
        except EmitFailed as exc:
            self._broken = ChangelogNotAcknowledged(str(exc))
            raise self._broken from exc
        finally:
            self.persist()
        if self._broken is not None:
            raise self._broken
