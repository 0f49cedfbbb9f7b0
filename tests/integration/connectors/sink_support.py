"""Helpers of the sink tests: view records on Kafka, a sink running in the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from confluent_kafka import Consumer, Message, TopicPartition

from connectors.sinks.service import SinkService
from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
    Topic,
)
from schemas.codec import FastDecoder, FastEncoder
from schemas.exceptions import DecodeError
from schemas.samples import sample
from tests.integration.support import ContractEnv

KEY_FIELDS: dict[str, tuple[str, ...]] = {
    CUSTOMER_CONTEXT_VIEW.name: ("customer_id",),
    CART_VIEW.name: ("cart_key",),
    STOCK_LEVEL_VIEW.name: ("sku", "location_id"),
    STOCK_TOTAL_VIEW.name: ("sku",),
    ORDER_VIEW.name: ("order_id",),
}


@dataclass(frozen=True)
class Sent:
    """One record as produced: where it landed, its key and value (None: tombstone)."""

    topic: str
    partition: int
    offset: int
    key: str
    value: dict[str, Any] | None
    raw: bytes | None


def view_value(view: Topic, key: str, version: int, seed: int) -> dict[str, Any]:
    """A sample view record whose key fields spell ``key`` (``sku@location`` for levels)."""
    value = sample(view.records[0], seed)
    parts = key.split("@") if len(KEY_FIELDS[view.name]) > 1 else [key]
    value.update(dict(zip(KEY_FIELDS[view.name], parts, strict=True)))
    value["version"] = version
    return value


class ViewProducer:
    """Produces view records (Avro, Confluent wire format) and remembers where they landed."""

    def __init__(self, env: ContractEnv) -> None:
        self.env = env
        self.encoder = FastEncoder(env.client, env.schema_set)
        self.producer = env.producer()
        self.sent: list[Sent] = []
        self._pending: dict[int, tuple[str, dict[str, Any] | None, bytes | None]] = {}

    def put(self, view: Topic, key: str, value: dict[str, Any] | None) -> None:
        topic = view.physical(self.env.prefix)
        raw = None if value is None else self.encoder.encode(topic, view.records[0], value)
        self.put_raw(topic, key, raw, value)

    def put_raw(
        self, topic: str, key: str, raw: bytes | None, value: dict[str, Any] | None = None
    ) -> None:
        def landed(error: Any, message: Message) -> None:
            assert error is None, error
            self.sent.append(
                Sent(
                    topic,
                    int(message.partition() or 0),
                    int(message.offset() or 0),
                    key,
                    value,
                    raw,
                )
            )

        self.producer.produce(topic, key=key.encode(), value=raw, on_delivery=landed)
        self.producer.poll(0)

    def flush(self) -> None:
        assert self.producer.flush(60) == 0


def read_to_end(env: ContractEnv, view: Topic) -> dict[str, dict[str, Any]]:
    """The compacted view as a reader sees it: the latest value per key, tombstones applied."""
    topic = view.physical(env.prefix)
    consumer = Consumer(
        {
            **env.settings.kafka.as_librdkafka_dict(),
            "group.id": "unused",
            "enable.auto.commit": False,
        }
    )
    decoder = FastDecoder(env.client, env.schema_set)
    metadata = consumer.list_topics(topic, timeout=10).topics[topic]
    ends = {
        p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        for p in metadata.partitions
    }
    consumer.assign([TopicPartition(topic, p, 0) for p in ends])
    latest: dict[str, dict[str, Any]] = {}
    left = {p for p, end in ends.items() if end > 0}
    deadline = time.monotonic() + 60
    try:
        while left and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None or message.error() is not None:
                continue
            key = bytes(message.key() or b"").decode()
            if message.value() is None:
                latest.pop(key, None)
            else:
                with contextlib.suppress(DecodeError):  # poison: a dead letter, not a state
                    latest[key] = decoder.decode(message.value()).value
            if int(message.offset() or 0) + 1 >= ends[int(message.partition() or 0)]:
                left.discard(int(message.partition() or 0))
    finally:
        consumer.close()
    assert not left, f"did not reach the end of {topic} partitions {left}"
    return latest


def reset_group(env: ContractEnv, group_id: str, topics: Iterable[str], offset: int = 0) -> None:
    """Move a group's committed offsets back: what a crash after the sink's work but before
    its Kafka commit leaves behind."""
    consumer = Consumer({**env.settings.kafka.as_librdkafka_dict(), "group.id": group_id})
    try:
        partitions = [
            TopicPartition(topic, p, offset)
            for topic in topics
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ]
        consumer.commit(offsets=partitions, asynchronous=False)
    finally:
        consumer.close()


async def run_until(
    sink: SinkService, done: Callable[[], bool | Awaitable[bool]], timeout_s: float = 90.0
) -> float:
    """Start ``sink``, wait for ``done()``, stop it cleanly; the seconds it took to get done."""
    started = time.monotonic()
    await sink.start()
    try:
        deadline = started + timeout_s
        while True:
            outcome = done()
            if outcome if isinstance(outcome, bool) else await outcome:
                return time.monotonic() - started
            if not sink.running:
                break  # it died: stop() below re-raises why
            assert time.monotonic() < deadline, "the sink did not finish in time"
            await asyncio.sleep(0.05)
    finally:
        await sink.stop()
    raise AssertionError("the sink's loop ended before it was done")


def topic_size(env: ContractEnv, views: Iterable[Topic]) -> int:
    """Records on the views' topics (nothing compacted yet: the segments are all active)."""
    consumer = Consumer({**env.settings.kafka.as_librdkafka_dict(), "group.id": "unused"})
    try:
        total = 0
        for view in views:
            topic = view.physical(env.prefix)
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                total += high - low
        return total
    finally:
        consumer.close()
