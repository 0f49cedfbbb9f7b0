"""The client side of a fault run: a producer thread configured like the connectors.

``acks=all`` and idempotence (``KafkaSettings.as_producer_dict``), murmur2
partitioning, librdkafka's own retries. An event counts as *acknowledged*
only when its delivery report says so; that is the promise a connector makes
to a channel, and what row 3 holds the backbone to. Every delivery's latency
is kept with the time it was sent, so a stall shows as a spike.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from confluent_kafka import KafkaError, Message, Producer

from schemas.codec import FastEncoder
from schemas.settings import KafkaSettings
from tests.faults.workload import Outgoing


@dataclass(frozen=True, slots=True)
class Sendable:
    """Bytes ready to produce; ``event_id`` is None for a deliberately bad record."""

    topic: str
    key: bytes | None
    value: bytes | None
    event_id: str | None


def encode(encoder: FastEncoder, prefix: str, events: Iterable[Outgoing]) -> list[Sendable]:
    """Encode once, up front, so the producer thread only produces."""
    out = []
    for event in events:
        topic = event.topic.physical(prefix)
        value = encoder.encode(topic, event.record, event.value)
        out.append(Sendable(topic, event.key.encode(), value, event.event_id))
    return out


@dataclass
class Deliveries:
    """What the delivery reports said, updated from the producer thread."""

    acked_ids: set[str] = field(default_factory=set)
    acked: int = 0
    failed: list[str] = field(default_factory=list)
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (sent at, seconds)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def callback(
        self, item: Sendable, sent_at: float
    ) -> Callable[[KafkaError | None, Message], None]:
        def report(error: KafkaError | None, _message: Message) -> None:
            now = time.monotonic()
            with self.lock:
                self.latencies.append((sent_at, now - sent_at))
                if error is not None:
                    self.failed.append(f"{item.topic}: {error}")
                    return
                self.acked += 1
                if item.event_id is not None:
                    self.acked_ids.add(item.event_id)

        return report


class Pump(threading.Thread):
    """Produces ``items`` at up to ``rate`` records a second, then flushes.

    With ``hold_at``, the records from that index on go out at ``trickle_rate``
    only, until :meth:`release`: a scenario whose steps take longer than
    planned (a busy machine) still has a stream flowing for its last step,
    instead of one that ended before the step began.
    """

    def __init__(
        self,
        kafka: KafkaSettings,
        items: list[Sendable],
        rate: float | None = None,
        hold_at: int | None = None,
        trickle_rate: float = 20.0,
    ) -> None:
        super().__init__(name="fault-pump", daemon=True)
        self.producer = Producer({**kafka.as_producer_dict(), "queue.buffering.max.ms": 5})
        self.items = items
        self.rate = rate
        self.hold_at = hold_at
        self.trickle_rate = trickle_rate
        self._released = threading.Event()
        self.sent = 0
        self.deliveries = Deliveries()
        self.error: BaseException | None = None
        self.finished_at: float | None = None
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            self._produce_all()
            while self.producer.flush(1.0) > 0 and not self._halt.is_set():
                pass
        except BaseException as exc:  # re-raised in the test thread by join_checked
            self.error = exc
        finally:
            self.finished_at = time.monotonic()

    def release(self) -> None:
        """Let the held records go out at the full rate."""
        self._released.set()

    def _produce_all(self) -> None:
        due = time.monotonic()
        for item in self.items:
            if self._halt.is_set():
                return
            rate = self._rate_now()
            if rate:
                ahead = due - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
                due += 1.0 / rate  # a fixed schedule: a stall is caught up after
            self._produce(item)
            self.sent += 1
            if self.sent % 256 == 0:
                self.producer.poll(0)

    def _produce(self, item: Sendable) -> None:
        report = self.deliveries.callback(item, time.monotonic())
        while True:
            try:
                self.producer.produce(item.topic, item.value, item.key, on_delivery=report)
                return
            except BufferError:  # the local queue is full: serve delivery reports, retry
                self.producer.poll(0.1)

    def _rate_now(self) -> float | None:
        held = self.hold_at is not None and self.sent >= self.hold_at
        if held and not self._released.is_set():
            return self.trickle_rate
        return self.rate

    def wait_sent(self, count: int, timeout_s: float = 600.0) -> None:
        """Block until ``count`` records were handed to the producer."""
        deadline = time.monotonic() + timeout_s
        while self.sent < count and self.is_alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.sent} of {count} records sent in {timeout_s}s")
            time.sleep(0.05)

    def join_checked(self, timeout_s: float = 600.0) -> None:
        """Wait for the last delivery report; the producer's own error, if any, is raised."""
        self.join(timeout_s)
        if self.is_alive():
            self._halt.set()
            self.join(10)
            raise TimeoutError(f"producer still flushing after {timeout_s}s")
        if self.error is not None:
            raise self.error
