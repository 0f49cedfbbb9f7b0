"""The PostgreSQL sink: the view topics kept as tables, one row per key.

Each consumed batch is one transaction: skip what the stored watermarks
say was applied already, dead-letter what cannot be decoded, upsert the
newest change of every key (a tombstone deletes its row), move the
watermarks, commit; only then are the Kafka offsets committed. A crash at
any point therefore re-reads records whose effect is either absent or
recognised as already there. Tables are created at start if missing
(``pg_tables.py`` says which columns each view gets).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import psycopg
from confluent_kafka import Consumer, TopicPartition
from psycopg import AsyncConnection

from connectors.core.logs import get_logger
from connectors.core.runner import run as run_service
from connectors.sinks.exceptions import DatabaseFailed
from connectors.sinks.kafka_io import DeadLetters, commit, make_consumer, poll_batch
from connectors.sinks.metrics import SinkMetrics
from connectors.sinks.pg_tables import table_for
from connectors.sinks.pg_writer import PgWriter, Tally, fresh_records, next_offsets
from connectors.sinks.records import Change, RawRecord, to_change
from connectors.sinks.service import SinkService
from connectors.sinks.views import by_physical, views_named
from schemas import registry
from schemas.avro import load_schema_set
from schemas.catalogue import POSTGRES_SINK
from schemas.codec import FastDecoder
from schemas.exceptions import DecodeError
from schemas.settings import Settings

log = get_logger("postgres-sink")

NAME = "postgres-sink"
LOOPBACK = "127.0.0.1"


def dsn_of(settings: Settings) -> str:
    """The configured DSN, else the local server that ``omni postgres up`` starts."""
    configured = settings.connectors.postgres_sink.dsn
    if configured is not None:
        return configured.get_secret_value()
    local = settings.local
    return (
        f"postgresql://{local.postgres_user}@{LOOPBACK}:{local.postgres_port}"
        f"/{local.postgres_database}"
    )


class PostgresSink(SinkService):
    """``start``/``stop`` or ``run``/``request_stop``; the batch in hand is finished first."""

    name = NAME

    def __init__(
        self, settings: Settings, metrics: SinkMetrics | None = None, *, own_process: bool = False
    ) -> None:
        super().__init__(own_process=own_process)
        self.settings = settings
        self.config = settings.connectors.postgres_sink
        self.metrics = metrics or SinkMetrics("postgres")
        views = views_named(self.config.views)
        self._topics = by_physical(views, settings.topics.prefix)
        self._tables = [table_for(view) for view in views]
        self._decoder = FastDecoder(registry.make_client(settings.registry), load_schema_set())
        self._dead_letters = DeadLetters(settings, POSTGRES_SINK)
        self.applied = 0

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    async def run(self) -> None:
        if self.config.metrics_port is not None:
            self.metrics.serve(self.config.metrics_port)
        conn = await _connect(dsn_of(self.settings))
        consumer: Consumer | None = None
        try:
            writer = PgWriter(conn, self.config.db_schema, self.config.group_id, self._tables)
            await writer.ensure_schema()
            consumer = make_consumer(self.settings, self.config.group_id, self.topics)
            log.info("postgres sink started", extra={"fields": {"topics": self.topics}})
            self._set_ready()
            while not self.stopping:
                batch = await poll_batch(
                    consumer, self.config.batch_max_records, self.config.poll_timeout_s
                )
                if batch:
                    await self._handle_batch(writer, consumer, batch)
        finally:
            if consumer is not None:
                await asyncio.to_thread(consumer.close)
            await conn.close()
            self.metrics.close()
            log.info("postgres sink stopped", extra={"fields": {"applied": self.applied}})

    async def _handle_batch(
        self, writer: PgWriter, consumer: Consumer, batch: list[RawRecord]
    ) -> None:
        started = time.monotonic()
        offsets = next_offsets(batch)
        try:
            async with writer.conn.transaction():
                marks = await writer.watermarks(sorted({t for t, _ in offsets}))
                fresh = fresh_records(batch, marks)
                changes = self._decode(fresh)
                await self._dead_letters.flush()  # before the watermark covers them
                tally = await writer.apply(changes)
                await writer.advance(offsets)
        except psycopg.Error as exc:
            raise DatabaseFailed(f"writing a batch of {len(batch)} view records: {exc}") from exc
        await commit(consumer, [TopicPartition(t, p, o) for (t, p), o in offsets.items()])
        self._account(batch, fresh, tally, time.monotonic() - started)

    def _decode(self, records: list[RawRecord]) -> list[Change]:
        changes = []
        for raw in records:
            view = self._topics[raw.topic]
            try:
                changes.append(to_change(raw, view, self._decoder))
            except DecodeError as exc:
                self._dead_letters.send(raw, exc.reason, exc)
                self.metrics.dead_letters.labels(reason=exc.reason, topic=raw.topic).inc()
                self.metrics.record(view.name, "dead_letter")
                fields = {"topic": raw.topic, "offset": raw.offset, "reason": exc.reason}
                log.warning("dead letter", extra={"fields": fields})
        return changes

    def _account(
        self, batch: list[RawRecord], fresh: list[RawRecord], tally: Tally, seconds: float
    ) -> None:
        self.applied += len(fresh)
        self.metrics.batch_seconds.labels(sink="postgres").observe(seconds)
        for outcome, counts in (
            ("upserted", tally.upserted),
            ("deleted", tally.deleted),
            ("superseded", tally.superseded),
        ):
            for view, count in counts.items():
                self.metrics.record(view, outcome, count)
        if len(fresh) < len(batch):
            seen = Counter(self._topics[raw.topic].name for raw in batch)
            seen.subtract(self._topics[raw.topic].name for raw in fresh)
            for view, count in seen.items():
                self.metrics.record(view, "redelivered", count)
        fields = {"records": len(batch), "fresh": len(fresh), "seconds": round(seconds, 4)}
        log.debug("batch written", extra={"fields": fields})


async def _connect(dsn: str) -> AsyncConnection:
    try:
        return await AsyncConnection.connect(dsn, autocommit=True)
    except psycopg.Error as exc:
        raise DatabaseFailed(f"cannot connect to PostgreSQL: {exc}") from exc


def create(settings: Settings) -> PostgresSink:
    """The registry's factory: ``omni connector run postgres-sink``."""
    return PostgresSink(settings, own_process=True)


def run(settings: Settings) -> None:
    """Entry point: run the sink until SIGTERM or SIGINT."""
    run_service(create, settings)
