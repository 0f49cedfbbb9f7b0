"""The Kafka side both sinks share: a manual-commit consumer, offset ledger, dead letters.

Offsets are committed only for records whose effect is done (delivered,
written, or dead-lettered). Within a partition the committed offset is the
first record that is *not* done: records of other keys after it are done
again on redelivery, which their idempotency key (webhook) or offset guard
(PostgreSQL) makes harmless.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

from connectors.sinks.exceptions import DeadLetterFailed, KafkaFailed
from connectors.sinks.records import RawRecord
from schemas.catalogue import DEAD_LETTERS
from schemas.settings import Settings

DLQ_FLUSH_TIMEOUT_S = 30.0
REASON_HEADER = "omni.error.reason"
ENDPOINT_HEADER = "omni.sink.endpoint"


def make_consumer(settings: Settings, group_id: str, topics: Sequence[str]) -> Consumer:
    """A consumer of ``topics`` that never commits on its own."""
    consumer = Consumer(
        {
            **settings.kafka.as_librdkafka_dict(),
            "group.id": group_id,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "cooperative-sticky",
        }
    )
    consumer.subscribe(list(topics))
    return consumer


async def poll_batch(consumer: Consumer, max_records: int, timeout_s: float) -> list[RawRecord]:
    """Up to ``max_records`` records (in a worker thread: librdkafka blocks)."""
    messages = await asyncio.to_thread(consumer.consume, max_records, timeout_s)
    return [RawRecord.of(m) for m in messages if _usable(m)]


def _usable(message: Message) -> bool:
    error = message.error()
    if error is None:
        return True
    if error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
        raise KafkaFailed(f"consumer: {error.str()}")
    return False  # transient broker errors are retried inside librdkafka


def committable(
    records: Iterable[RawRecord], done: set[tuple[str, int, int]]
) -> list[TopicPartition]:
    """Per partition, the offset to commit: the first record not done, or past the last."""
    first_open: dict[tuple[str, int], int] = {}
    last: dict[tuple[str, int], int] = {}
    for record in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
        where = (record.topic, record.partition)
        last[where] = record.offset
        if where not in first_open and (record.topic, record.partition, record.offset) not in done:
            first_open[where] = record.offset
    return [
        TopicPartition(topic, partition, first_open.get((topic, partition), offset + 1))
        for (topic, partition), offset in last.items()
    ]


async def commit(consumer: Consumer, offsets: list[TopicPartition]) -> None:
    """Synchronous commit: when this returns, a restart starts after these records."""
    if not offsets:
        return
    try:
        await asyncio.to_thread(consumer.commit, offsets=offsets, asynchronous=False)
    except KafkaException as exc:
        raise KafkaFailed(f"commit of {len(offsets)} partition offsets failed: {exc}") from exc


class DeadLetters:
    """Copies poison or undeliverable records to ``omni.dlq``: original bytes, error headers.

    Same headers as the processors' (``streams/dlq.py``), plus the endpoint
    for a webhook delivery. ``flush`` raises if any copy was not acknowledged,
    so the caller does not commit offsets of records that were lost.
    """

    def __init__(self, settings: Settings, processor: str) -> None:
        self.topic = DEAD_LETTERS.physical(settings.topics.prefix)
        self.processor = processor
        self._producer = Producer(settings.kafka.as_producer_dict())
        self._errors: list[str] = []

    def send(
        self,
        record: RawRecord,
        reason: str,
        error: BaseException | str,
        extra: Sequence[tuple[str, str]] = (),
    ) -> None:
        headers: list[tuple[str, str | bytes | None]] = [
            ("omni.error.type", _error_type(error, reason).encode()),
            ("omni.error.message", str(error)[:1000].encode()),
            (REASON_HEADER, reason.encode()),
            ("omni.source.topic", record.topic.encode()),
            ("omni.source.partition", str(record.partition).encode()),
            ("omni.source.offset", str(record.offset).encode()),
            ("omni.processor", self.processor.encode()),
            *((name, value.encode()) for name, value in extra),
        ]
        self._producer.produce(
            self.topic, key=record.key, value=record.value, headers=headers, on_delivery=self._acked
        )
        self._producer.poll(0)

    def _acked(self, error: KafkaError | None, _message: Any) -> None:
        if error is not None:
            self._errors.append(error.str())

    async def flush(self) -> None:
        """Wait until every dead letter is acknowledged (acks=all), or raise."""
        left = await asyncio.to_thread(self._producer.flush, DLQ_FLUSH_TIMEOUT_S)
        if left or self._errors:
            errors, self._errors = self._errors, []
            raise DeadLetterFailed(
                f"{left} dead letters unacknowledged after {DLQ_FLUSH_TIMEOUT_S:.0f}s; "
                f"errors: {'; '.join(errors) or 'none'}"
            )


def _error_type(error: BaseException | str, reason: str) -> str:
    return type(error).__name__ if isinstance(error, BaseException) else reason


def rewind(consumer: Consumer, offsets: list[TopicPartition]) -> None:
    """Seek back to the committed offsets, so records that are not done come again."""
    for offset in offsets:
        consumer.seek(offset)
