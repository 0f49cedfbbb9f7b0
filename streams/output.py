"""What processors emit (views, commands, answers, facts, dead letters), through librdkafka.

Faust's producer costs tens of microseconds of Python per record (a
``FutureMessage``, a coroutine, the buffer, aiokafka's batch builder) and a
profile of the mixed workload put a third of a worker's time there. So a
worker's emissions go through one confluent-kafka producer (librdkafka
batches and compresses in C), with the same partitioner as Faust's
(``murmur2_random``, see :meth:`schemas.settings.KafkaSettings.as_producer_dict`),
``acks=all`` and idempotence. The tables' changelog records take the same
producer (:mod:`streams.changelog`), so one flush covers both.

:meth:`Output.flush` is the outbox barrier of :mod:`streams.processor`: it
returns once everything sent so far is acknowledged, and raises
:class:`~streams.exceptions.EmitFailed` if anything was not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from confluent_kafka import KafkaError, KafkaException, Message, Producer

from schemas.settings import Settings
from streams.exceptions import EmitFailed

Headers = Sequence[tuple[str, bytes]]
POLL_WAIT_S = 0.05


class Output:
    """One librdkafka producer for a worker's emissions; safe to share by its agents."""

    def __init__(self, settings: Settings) -> None:
        conf = settings.kafka.as_producer_dict(linger_ms=settings.streams.producer_linger_ms)
        conf["client.id"] = f"{settings.streams.worker_name}-emit"
        self._producer = Producer(conf)
        self._failed: list[str] = []

    def _delivered(self, err: KafkaError | None, msg: Message) -> None:
        if err is not None:
            self.failed(err, msg)

    def produce(
        self,
        topic: str,
        key: bytes,
        value: bytes | None,
        partition: int,
        on_delivery: Callable[[KafkaError | None, Message], None],
    ) -> None:
        """Queue one record for a given partition from synchronous code (table writes).

        A full queue is waited out in place: it drains as the brokers
        acknowledge, and the outbox flushes every round, so this is rare.
        """
        while True:
            try:
                self._producer.produce(
                    topic, value=value, key=key, partition=partition, on_delivery=on_delivery
                )
                return
            except BufferError:
                self._producer.poll(POLL_WAIT_S)
            except KafkaException as exc:
                raise EmitFailed(f"cannot produce to {topic}: {exc.args[0]}") from exc

    def failed(self, err: KafkaError, msg: Message) -> None:
        """Remember a record the brokers did not take: the next :meth:`flush` raises."""
        self._failed.append(f"{msg.topic()}: {err.str()}")

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, headers: Headers | None = None
    ) -> None:
        """Queue one record; waits only while librdkafka's queue is full."""
        while True:
            try:
                self._producer.produce(
                    topic,
                    value=value,
                    key=key,
                    headers=list(headers) if headers else None,
                    on_delivery=self._delivered,
                )
                break
            except BufferError:
                await asyncio.to_thread(self._producer.poll, POLL_WAIT_S)
            except KafkaException as exc:
                raise EmitFailed(f"cannot emit to {topic}: {exc.args[0]}") from exc
        self._producer.poll(0)

    async def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until every queued record is acknowledged (the outbox barrier)."""
        if len(self._producer) == 0 and not self._failed:
            return
        left = await asyncio.to_thread(self._producer.flush, timeout_s)
        if left:
            raise EmitFailed(f"{left} emitted records not acknowledged in {timeout_s:.0f}s")
        if self._failed:
            failed, self._failed = self._failed, []
            raise EmitFailed(f"{len(failed)} emitted records failed, e.g. {failed[0]}")

    def close(self) -> Any:
        return self._producer.flush(10)
