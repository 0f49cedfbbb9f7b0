"""The one way a connector puts events on Kafka: Avro, keyed by the catalogue, acknowledged.

``await publisher.publish_many(events)`` returns only once Kafka acknowledged
every record (``acks=all``, idempotent producer), so a connector answers its
channel "accepted" only for what is durably in Kafka. Design choices, all for
a connector that must take tens of thousands of events a second on one core:

* One confluent-kafka ``Producer`` per process; a daemon thread polls it, so
  delivery callbacks never wait for the event loop. A request's records share
  one ticket and one asyncio future: one cross-thread wake-up per request, not
  per record.
* Topic, key and schema id come from the catalogue and the project's codec
  (``FastEncoder``, TopicRecordNameStrategy), resolved once per record type at
  start-up (``prepare``); afterwards no registry call and no pydantic per event.
  A record fastavro cannot encode is validated again to name the bad field.
* A request is all or nothing on our side: every record is encoded before the
  first is produced, and the in-flight bound is checked for the whole request.
  Beyond the bound the request is refused with ``Backpressure`` (HTTP 503 with
  Retry-After) instead of being buffered without limit.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro.validation import ValidationError, validate

from connectors.core.events import Outgoing
from connectors.core.exceptions import (
    Backpressure,
    ConnectorConfigError,
    InvalidEvent,
    PublishError,
)
from connectors.core.metrics import ConnectorMetrics
from schemas import registry
from schemas.avro import SchemaSet, load_schema_set
from schemas.catalogue import DEAD_LETTERS, DLQ_HEADERS, KeyRule, topic_for_record
from schemas.codec import FastEncoder
from schemas.exceptions import CatalogueError, ContractError
from schemas.settings import Settings

POLL_INTERVAL_S = 0.05
Headers = list[tuple[str, str | bytes | None]]
# topic, key, value bytes, headers: what one ``Producer.produce`` call takes.
Produced = tuple[str, str | bytes | None, bytes, Headers | None]
REASON_HEADER = "omni.error.reason"
KeyOf = Callable[[dict[str, Any]], str]


def key_function(rule: KeyRule | None) -> KeyOf | None:
    """The catalogue's key rule specialised for dicts: a walk per event must be cheap.

    Same answer as ``rule.key_of`` for plain dicts (what every mapping builds);
    anything else, and a value with no key, goes to ``rule.key_of`` itself, so
    its error message is the catalogue's.
    """
    if rule is None or rule.mode != "first_of":
        return None if rule is None else rule.key_of
    paths = [tuple(path.split(".")) for path in rule.paths]

    def key_of(value: dict[str, Any]) -> str:
        for steps in paths:
            current: Any = value
            for step in steps:
                if type(current) is not dict:
                    current = None
                    break
                current = current.get(step)
            if current is not None and current != "":
                return str(current)
        return rule.key_of(value)

    return key_of


class _Ticket:
    """The records of one publish call; settles its future when the last one is acknowledged.

    Delivery callbacks run on the poll thread, ``seal`` on the event loop: the
    lock makes "all acknowledged" true exactly once whichever comes last.
    """

    __slots__ = ("acked", "error", "expected", "future", "lock", "loop", "publisher")

    def __init__(self, publisher: Publisher, loop: asyncio.AbstractEventLoop) -> None:
        self.publisher = publisher
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.lock = threading.Lock()
        self.acked = 0
        self.expected = -1
        self.error: KafkaError | None = None

    def on_delivery(self, err: KafkaError | None, _msg: Any) -> None:
        with self.lock:
            self.acked += 1
            if err is not None and self.error is None:
                self.error = err
            finished = self.acked == self.expected
        if finished:
            self.loop.call_soon_threadsafe(self._settle)

    def seal(self, produced: int) -> None:
        with self.lock:
            self.expected = produced
            finished = self.acked == produced
        if finished:
            self._settle()

    def _settle(self) -> None:
        self.publisher._records_done(self.expected)
        if self.future.done():
            return
        if self.error is not None:
            self.future.set_exception(PublishError(f"Kafka refused a record: {self.error.str()}"))
        else:
            self.future.set_result(None)


class PublishLimits(Protocol):
    """What every source connector's settings section says about publishing."""

    max_in_flight: int
    retry_after_s: int
    linger_ms: int
    delivery_timeout_s: float


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One refused input for ``omni.dlq``: its bytes and why.

    ``position`` fills ``omni.source.offset`` (a line number for a file, ``-1``
    for an HTTP body); ``extra`` adds headers such as the file and line.
    """

    value: bytes
    key: bytes | None
    reason: str
    error: BaseException | str
    origin: str
    position: str = "-1"
    extra: Mapping[str, str] = field(default_factory=dict)


class Publisher:
    """Avro records to the catalogue's topics, acknowledged before ``publish_many`` returns."""

    @classmethod
    def for_connector(
        cls, settings: Settings, name: str, config: PublishLimits, metrics: ConnectorMetrics
    ) -> Self:
        """The publisher of connector ``name``, sized by its settings section."""
        return cls(
            settings,
            client_id=f"omni-{name}",
            max_in_flight=config.max_in_flight,
            retry_after_s=config.retry_after_s,
            linger_ms=config.linger_ms,
            delivery_timeout_s=config.delivery_timeout_s,
            metrics=metrics,
        )

    def __init__(
        self,
        settings: Settings,
        *,
        client_id: str,
        max_in_flight: int = 50_000,
        retry_after_s: int = 1,
        linger_ms: int = 5,
        delivery_timeout_s: float = 30.0,
        metrics: ConnectorMetrics | None = None,
        registry_client: SchemaRegistryClient | None = None,
        schema_set: SchemaSet | None = None,
    ) -> None:
        self._prefix = settings.topics.prefix
        self._max_in_flight = max_in_flight
        self._retry_after_s = retry_after_s
        self._metrics = metrics
        self._processor = client_id
        self._schema_set = schema_set or load_schema_set()
        client = registry_client or registry.make_client(settings.registry)
        self._encoder = FastEncoder(client, self._schema_set)
        self._routes: dict[str, tuple[str, KeyOf | None]] = {}
        self._in_flight = 0
        self._closing = threading.Event()
        self._unflushed = 0
        self._flush_timeout_s = 30.0
        conf = {
            **settings.kafka.as_producer_dict(linger_ms=linger_ms),
            "client.id": client_id,
            "message.timeout.ms": int(delivery_timeout_s * 1000),
            "queue.buffering.max.messages": max(100_000, 2 * max_in_flight),
        }
        try:
            self._producer = Producer(conf)
        except KafkaException as exc:
            raise ConnectorConfigError(f"cannot create the Kafka producer: {exc}") from exc
        self._thread = threading.Thread(target=self._poll, name=f"{client_id}-poll", daemon=True)
        self._thread.start()
        if metrics is not None:
            metrics.track_in_flight(lambda: self._in_flight)

    @property
    def in_flight(self) -> int:
        """Records handed to the producer and not yet acknowledged."""
        return self._in_flight

    def topic_name(self, record: str) -> str:
        """The physical topic ``record`` goes to (with this deployment's prefix)."""
        return self._route(record)[0]

    async def prepare(self, records: Iterable[str]) -> None:
        """Look up the schema id of every record once, off the event loop, before traffic."""
        await asyncio.to_thread(self._warm, list(records))

    async def publish(self, record: str, value: dict[str, Any], key: str | None = None) -> None:
        await self.publish_many([Outgoing(record, value, key)])

    async def publish_many(self, events: Sequence[Outgoing]) -> None:
        """Encode, produce and wait until Kafka acknowledged every record of ``events``.

        Raises ``InvalidEvent`` (nothing produced) when a record does not fit its
        schema, ``Backpressure`` (nothing produced) beyond the in-flight bound and
        ``PublishError`` when Kafka refused a record or did not answer in time.
        """
        if not events:
            return
        missing = {e.record for e in events if e.record not in self._routes}
        if missing:
            await self.prepare(missing)
        encoded = [self._encode(i, event) for i, event in enumerate(events)]
        started = time.perf_counter()
        await self._produce(encoded)
        if self._metrics is not None:
            counts = Counter(e.record.rpartition(".")[2] for e in events)
            self._metrics.published(dict(counts), time.perf_counter() - started)

    async def dead_letter(
        self,
        value: bytes,
        *,
        key: bytes | None,
        reason: str,
        error: BaseException | str,
        origin: str,
    ) -> None:
        """Keep bytes we refused on ``omni.dlq`` with the usual context headers, acknowledged.

        ``origin`` says where the bytes came from (an HTTP route, a file name); it
        fills ``omni.source.topic`` and the partition and offset are ``-1``.
        """
        await self.dead_letter_many([DeadLetter(value, key, reason, error, origin)])

    async def dead_letter_many(self, letters: Sequence[DeadLetter]) -> None:
        """Several refused inputs at once (one produce, one wait), each with its headers."""
        if not letters:
            return
        topic = DEAD_LETTERS.physical(self._prefix)
        await self._produce([(topic, d.key, d.value, self._letter_headers(d)) for d in letters])
        if self._metrics is not None:
            for letter in letters:
                self._metrics.dead_lettered(letter.reason)

    def _letter_headers(self, letter: DeadLetter) -> Headers:
        error = letter.error
        kind = type(error).__name__ if isinstance(error, BaseException) else letter.reason
        values = (kind, str(error)[:1000], letter.origin, "-1", letter.position, self._processor)
        headers: dict[str, str | bytes | None] = dict(zip(DLQ_HEADERS, values, strict=True))
        headers[REASON_HEADER] = letter.reason
        headers.update(letter.extra)
        return list(headers.items())

    async def close(self, timeout_s: float = 30.0) -> int:
        """Stop polling after flushing what is in flight; returns records left unacknowledged."""
        self._flush_timeout_s = timeout_s
        self._closing.set()
        await asyncio.to_thread(self._thread.join)
        return self._unflushed

    # --- internals ------------------------------------------------------------------------

    def _route(self, record: str) -> tuple[str, KeyOf | None]:
        route = self._routes.get(record)
        if route is None:
            try:
                topic = topic_for_record(record)
            except CatalogueError as exc:
                raise InvalidEvent([f"{record}: {exc}"]) from exc
            route = (topic.physical(self._prefix), key_function(topic.key))
        return route

    def _warm(self, records: list[str]) -> None:
        for record in records:
            route = self._route(record)
            self._encoder.schema_id(route[0], record)
            self._routes[record] = route

    def _encode(self, index: int, event: Outgoing) -> Produced:
        name, key_of = self._routes[event.record]
        try:
            key = event.key
            if key is None and key_of is not None:
                key = key_of(event.value)
            data = self._encoder.encode(name, event.record, event.value)
        except ContractError as exc:
            raise InvalidEvent([f"record {index} ({event.record}): {exc}"]) from exc
        except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as exc:
            raise InvalidEvent(self._explain(index, event, exc)) from exc
        return name, key, data, None

    def _explain(self, index: int, event: Outgoing, exc: Exception) -> list[str]:
        """Name the fields fastavro refused: its writer only says what, not where."""
        try:
            validate(event.value, self._schema_set.parsed(event.record), raise_errors=True)
        except ValidationError as invalid:
            return [
                f"record {index} ({event.record}): {error.field}: expected {error.schema}, "
                f"got {type(error.datum).__name__}"
                for error in invalid.errors
            ]
        return [f"record {index} ({event.record}): {exc}"]

    async def _produce(self, records: Sequence[Produced]) -> None:
        count = len(records)
        if self._closing.is_set():
            raise PublishError("shutting down", self._retry_after_s)
        if self._in_flight + count > self._max_in_flight:
            raise Backpressure(
                f"{self._in_flight} records in flight, {count} more would pass the bound of "
                f"{self._max_in_flight}",
                self._retry_after_s,
            )
        ticket = _Ticket(self, asyncio.get_running_loop())
        self._in_flight += count
        produced = 0
        try:
            for topic, key, value, headers in records:
                self._producer.produce(
                    topic, value=value, key=key, headers=headers, on_delivery=ticket.on_delivery
                )
                produced += 1
        except BufferError as exc:
            self._in_flight -= count - produced
            ticket.seal(produced)
            raise Backpressure(f"producer queue full: {exc}", self._retry_after_s) from exc
        except KafkaException as exc:
            self._in_flight -= count - produced
            ticket.seal(produced)
            raise PublishError(f"Kafka refused a record: {exc}", self._retry_after_s) from exc
        ticket.seal(produced)
        await ticket.future

    def _records_done(self, count: int) -> None:
        self._in_flight -= count

    def _poll(self) -> None:
        """The delivery-callback thread: polls until closing, then flushes."""
        while not self._closing.is_set():
            self._producer.poll(POLL_INTERVAL_S)
        self._unflushed = self._producer.flush(self._flush_timeout_s)
