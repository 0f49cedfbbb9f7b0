"""Bulk restore: fill the local RocksDB stores from the changelogs before Faust starts.

Faust restores a table record by record: every changelog record goes
through the conductor, a queue, ``asyncio.wait_for`` and the table's
callbacks (``faust/tables/recovery.py``, ``_slurp_changelogs``), about
110 µs each here, so a million customers (two million records) took four
minutes. The records need none of that: Faust's RocksDB store keeps a
changelog record's key and value bytes as they are, one database per
partition, plus the last applied offset under ``__faust\\0offset__``.

So before the worker joins its group, :func:`restore` reads every
changelog partition from that offset to its end with one librdkafka
consumer (no group, nothing committed) and writes the records in
``WriteBatch`` es, the offset in the same batch as the records it covers.
It does so in a child process (see :func:`restore` for why).
Faust then opens the same databases, finds the offsets and reads only what
was written after the restore, as after any restart.

On by default (``OMNI_STREAMS__BULK_RESTORE=false`` leaves recovery to
Faust alone); B4 of ``make bench`` measures it.

It restores every partition, not only those this worker will be given:
the assignment is not known before joining, and with standby replicas
(``OMNI_STREAMS__STANDBY_REPLICAS``) a worker keeps the others' partitions
anyway. A partition restored here and never assigned costs only disk.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import faust
from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition
from faust.stores.rocksdb import Store
from rocksdict import WriteBatch, WriteOptions

from schemas.settings import Settings, StreamsSettings
from streams.exceptions import RestoreFailed
from streams.rocks import SharedOptions, budget

log = logging.getLogger(__name__)
OFFSET_KEY = Store.offset_key
IN_PROCESS_RECORDS = 200_000  # above this, the restore runs in a child process
WRITE_EVERY = 20_000  # records per WriteBatch: bounds memory, keeps writes large


def _unlogged() -> WriteOptions:
    """Writes without RocksDB's write-ahead log: the changelog is the log.

    A crash mid-restore loses the unflushed records together with the offset
    written in the same batch, so the next start simply reads them again.
    """
    options = WriteOptions()
    options.disable_wal = True  # type: ignore[method-assign,assignment]  # a property; the stub says method
    return options


UNLOGGED = _unlogged()


@dataclass
class _Partition:
    """One changelog partition being restored into its store database."""

    db: Any  # rocksdict.Rdict, opened with the table's own options
    batch: WriteBatch = field(default_factory=lambda: WriteBatch(raw_mode=True))
    pending: int = 0
    last: int = -1
    records: int = 0

    def put(self, key: Any, value: bytes | None, offset: int) -> None:
        if key is None:
            pass  # no table key to apply it to; Faust's own restore would fail on it
        elif value is None:
            self.batch.delete(key)
        else:
            self.batch.put(key, value)
        self.pending += 1
        self.last = offset

    def write(self) -> None:
        """Write what is pending with the offset it reaches, atomically."""
        if not self.pending:
            return
        self.batch.put(OFFSET_KEY, str(self.last).encode())
        self.db.write(self.batch, UNLOGGED)
        self.records += self.pending
        self.batch, self.pending = WriteBatch(raw_mode=True), 0

    def close(self) -> None:
        """Flush the memtables (nothing else made them durable) and close."""
        if self.records:
            self.db.flush(wait=True)
        self.db.close()


@dataclass(frozen=True)
class Restored:
    """What a bulk restore did: the figures the worker logs."""

    records: int
    partitions: int
    seconds: float


@dataclass(frozen=True)
class Job:
    """One table's changelog and where its partitions' databases live: what the child needs."""

    topic: str
    paths: tuple[str, ...]  # one per partition, Faust's own file names
    options: dict[str, Any]  # the table's RocksDB options, as Faust's store has them
    ends: tuple[tuple[int, int], ...] = ()  # (low, high) watermarks, one per partition

    @property
    def records(self) -> int:
        """How many records the changelog holds (an upper bound of what is left to restore)."""
        return sum(max(high - low, 0) for low, high in self.ends)


def restore(app: faust.App, settings: Settings, timeout_s: float = 600.0) -> Restored:
    """Bring every RocksDB table of ``app`` up to its changelog's end; call before start.

    A large restore runs in a child process that exits before the worker
    joins its group: librdkafka keeps fetched batches decompressed in memory
    (several hundred MiB at the fetch sizes that make a restore fast), and a
    worker process never gives such a peak back to the system. A small one
    (at most ``IN_PROCESS_RECORDS`` in the changelogs) is not worth the
    second or two a child process takes to start.
    """
    config = _consumer_config(settings)
    jobs = _jobs(app, config)
    if sum(job.records for job in jobs) <= IN_PROCESS_RECORDS:
        done = restore_jobs(jobs, config, settings.streams, timeout_s)
    else:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
            done = pool.submit(restore_jobs, jobs, config, settings.streams, timeout_s).result()
    log.info(
        "bulk restore: %d changelog records into %d partitions in %.1fs",
        done.records,
        done.partitions,
        done.seconds,
    )
    return done


def _jobs(app: faust.App, config: dict[str, Any]) -> list[Job]:
    """Every RocksDB table's changelog, its partitions' files and watermarks (asked once)."""
    consumer = Consumer(config)
    try:
        return [
            Job(
                topic,
                tuple(str(store.partition_path(n)) for n in range(partitions)),
                dict(store.options or {}),
                tuple(_watermarks(consumer, TopicPartition(topic, n)) for n in range(partitions)),
            )
            for topic, partitions, store in _stores(app)
        ]
    except KafkaException as exc:
        raise RestoreFailed(f"cannot size the changelogs: {exc.args[0]}") from exc
    finally:
        consumer.close()


def restore_jobs(
    jobs: Sequence[Job], config: dict[str, Any], streams: StreamsSettings, timeout_s: float
) -> Restored:
    """The child's work: read each changelog partition from its stored offset to its end."""
    started = time.monotonic()
    cache, memtables = budget(streams)
    consumer = Consumer(config)
    slots: dict[Any, _Partition] = {}
    try:
        starts = _open(jobs, cache, memtables, slots)
        if starts:
            consumer.assign(starts)
            _drain(consumer, slots, {(tp.topic, tp.partition) for tp in starts}, timeout_s)
    except KafkaException as exc:
        raise RestoreFailed(f"bulk restore of the changelogs failed: {exc.args[0]}") from exc
    finally:
        consumer.close()
        for slot in slots.values():
            slot.close()
    return Restored(
        records=sum(slot.records for slot in slots.values()),
        partitions=len(slots),
        seconds=time.monotonic() - started,
    )


def _consumer_config(settings: Settings) -> dict[str, Any]:
    return {
        **settings.kafka.as_librdkafka_dict(),
        "client.id": f"{settings.streams.worker_name}-restore",
        "group.id": f"{settings.streams.app_id}-restore",  # assign() only: never joins
        "enable.auto.commit": False,
        # A start compacted or deleted away since the watermarks were read: take what is left.
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
        "fetch.max.bytes": 16 * 1024 * 1024,
        "max.partition.fetch.bytes": 1024 * 1024,
        "queued.max.messages.kbytes": 4 * 1024,
        "queued.min.messages": 1000,  # per partition: the default 100k would hold them all
    }


def _stores(app: faust.App) -> Iterable[tuple[str, int, Store]]:
    """(changelog topic, partitions, store) of every table kept in RocksDB."""
    for table in app.tables.values():
        store = table.data
        if isinstance(store, Store) and table.partitions:
            yield table.changelog_topic.get_topic_name(), int(table.partitions), store


def _open(
    jobs: Iterable[Job],
    cache: Any,
    memtables: Any,
    slots: dict[Any, _Partition],
) -> list[TopicPartition]:
    """Open each partition's database; where it is behind, where to start reading."""
    starts: list[TopicPartition] = []
    for job in jobs:
        options = SharedOptions(cache, memtables, **job.options, use_rocksdict=True)
        for partition, (path, (low, high)) in enumerate(zip(job.paths, job.ends, strict=True)):
            db = options.open(Path(path))
            slots[(job.topic, partition)] = _Partition(db)
            applied = db.get(OFFSET_KEY)
            start = max(int(applied) + 1 if applied is not None else 0, low)
            if start < high:
                starts.append(TopicPartition(job.topic, partition, start))
    return starts


def _watermarks(consumer: Consumer, tp: TopicPartition, timeout_s: float = 30.0) -> Any:
    """(low, high) of a partition, retried while its leader is not yet known.

    A changelog created a moment ago (``declare_changelogs``) can answer
    NOT_LEADER_FOR_PARTITION until the consumer's metadata catches up, or
    librdkafka's own "unknown partition" while its metadata does not list the
    partition yet (a three-broker cluster under load, row 3 of the fault suite).
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return consumer.get_watermark_offsets(tp, timeout=10.0)
        except KafkaException as exc:
            error = exc.args[0]
            if not (isinstance(error, KafkaError) and _transient(error)):
                raise
            if time.monotonic() > deadline:
                raise RestoreFailed(f"no leader for {tp.topic}[{tp.partition}]: {error}") from exc
            time.sleep(0.2)


TRANSIENT = {
    KafkaError.NOT_LEADER_FOR_PARTITION,
    KafkaError.LEADER_NOT_AVAILABLE,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
    KafkaError._UNKNOWN_PARTITION,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError._TIMED_OUT,
    KafkaError._TRANSPORT,
}


def _transient(error: KafkaError) -> bool:
    return bool(error.retriable() or error.code() in TRANSIENT)


def _drain(
    consumer: Consumer,
    slots: dict[Any, _Partition],
    left: set[tuple[str, int]],
    timeout_s: float,
) -> None:
    """Consume until every assigned partition reported its end, writing as it goes."""
    deadline = time.monotonic() + timeout_s
    eof = KafkaError._PARTITION_EOF
    while left:
        if time.monotonic() > deadline:
            raise RestoreFailed(f"bulk restore did not reach the end of {sorted(left)[:3]}")
        for message in consumer.consume(num_messages=10_000, timeout=1.0):
            error = message.error()
            where = (message.topic(), message.partition())
            if error is not None:
                if error.code() != eof:
                    raise RestoreFailed(f"reading changelog {where}: {error.str()}")
                slots[where].write()
                left.discard(where)
                continue
            slot = slots[where]
            slot.put(message.key(), message.value(), cast(int, message.offset()))
            if slot.pending >= WRITE_EVERY:
                slot.write()
    for slot in slots.values():
        slot.write()
