"""Reading topics back, the way a downstream reader would: read_committed, from the start.

Nothing here joins a consumer group: partitions are assigned explicitly from
offset 0, so reading never moves anyone's offsets and never waits for a
rebalance. "Up to date" is measured against the high watermarks fetched at
the moment of the check, which is what a reader of a compacted view topic
can know.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from schemas.settings import KafkaSettings


@dataclass(frozen=True, slots=True)
class Message:
    """One record read back: where it was and what it held."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]
    timestamp_ms: int = 0


class ReadError(Exception):
    """A topic could not be read back (the test fails with the broker's reason)."""


def _headers(raw: Any) -> tuple[tuple[str, bytes], ...]:
    """Record headers as (name, bytes) pairs; a header without a value reads as b""."""
    pairs = raw.items() if isinstance(raw, dict) else raw or ()
    out = []
    for name, value in pairs:
        data = value.encode() if isinstance(value, str) else bytes(value or b"")
        out.append((str(name), data))
    return tuple(out)


def reader_config(kafka: KafkaSettings) -> dict[str, Any]:
    return {
        **kafka.as_librdkafka_dict(),
        "group.id": f"fault-verifier-{uuid.uuid4().hex}",
        "enable.auto.commit": False,
        "isolation.level": "read_committed",
        "auto.offset.reset": "earliest",
        "fetch.max.bytes": 16 * 1024 * 1024,
        # A caught-up partition otherwise holds each read for the broker's 500 ms wait.
        "fetch.wait.max.ms": 20,
    }


@dataclass
class TopicReader:
    """Reads a set of topics from the beginning and keeps reading on demand."""

    kafka: KafkaSettings
    topics: list[str]
    consumer: Consumer = field(init=False)
    partitions: list[TopicPartition] = field(init=False)
    positions: dict[tuple[str, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.consumer = Consumer(reader_config(self.kafka))
        self.partitions = self._partitions()
        self.consumer.assign(
            [TopicPartition(tp.topic, tp.partition, OFFSET_BEGINNING) for tp in self.partitions]
        )

    def _partitions(self) -> list[TopicPartition]:
        metadata = self.consumer.list_topics(timeout=30)
        out = []
        for name in self.topics:
            topic = metadata.topics.get(name)
            if topic is None or topic.error is not None:
                raise ReadError(f"topic {name} is not readable: {topic and topic.error}")
            out += [TopicPartition(name, p) for p in sorted(topic.partitions)]
        return out

    def high_watermarks(self) -> dict[tuple[str, int], int]:
        """End offsets now (for read_committed: the last stable offset)."""
        ends = {}
        for tp in self.partitions:
            try:
                _, high = self.consumer.get_watermark_offsets(tp, timeout=10, cached=False)
            except KafkaException as exc:
                raise ReadError(f"no watermarks for {tp.topic}[{tp.partition}]: {exc}") from exc
            ends[(tp.topic, tp.partition)] = high
        return ends

    def caught_up(self, ends: dict[tuple[str, int], int]) -> bool:
        return all(self.positions.get(tp, 0) >= end for tp, end in ends.items() if end > 0)

    def poll(self, max_records: int = 5_000, timeout_s: float = 0.5) -> list[Message]:
        out = []
        for message in self.consumer.consume(max_records, timeout_s):
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                raise ReadError(f"reading {message.topic()}: {error}")
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            assert topic is not None
            assert partition is not None
            assert offset is not None
            self.positions[(topic, partition)] = offset + 1
            headers = _headers(message.headers())
            stamp = message.timestamp()[1]
            out.append(
                Message(topic, partition, offset, message.key(), message.value(), headers, stamp)
            )
        return out

    def read_to_end(self, timeout_s: float = 120.0) -> list[Message]:
        """Everything up to the watermarks of now, in partition order per partition."""
        ends = self.high_watermarks()
        out: list[Message] = []
        deadline = time.monotonic() + timeout_s
        while not self.caught_up(ends):
            if time.monotonic() > deadline:
                raise ReadError(f"could not read {self.topics} to {ends} in {timeout_s}s")
            out += self.poll()
        return out

    def close(self) -> None:
        self.consumer.close()


def read_all(
    kafka: KafkaSettings, topics: Iterable[str], timeout_s: float = 120.0
) -> list[Message]:
    """Every record of ``topics`` now, each partition in offset order."""
    reader = TopicReader(kafka, list(topics))
    try:
        return reader.read_to_end(timeout_s)
    finally:
        reader.close()
