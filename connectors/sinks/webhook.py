"""The webhook sink: every change of the views a channel subscribes to, POSTed to it as JSON.

Per consumed batch, records are grouped by (partition, key). Each key's
records go out one after the other, so an endpoint never sees a key's
changes out of order or two at once; different keys go in parallel (at most
``max_parallel_keys``). Each change is signed per endpoint (HMAC-SHA256 of
the body) and carries an idempotency key naming its Kafka record. Failed
attempts are retried with backoff and jitter behind a per-endpoint circuit
breaker; a change that still fails, or that an endpoint rejects, goes to the
dead-letter topic with its original bytes and the stream goes on.

Offsets are committed after the batch's deliveries and dead letters are
done. SIGTERM stops taking new batches; retries waiting on a backoff are
abandoned and their records stay uncommitted, to be delivered after the
restart under the same idempotency key.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence

import orjson
from confluent_kafka import Consumer

from connectors.core.logs import get_logger
from connectors.core.runner import run as run_service
from connectors.sinks.backoff import Backoff
from connectors.sinks.delivery import Deliverer, Delivery, Endpoint, Outcome, make_endpoint
from connectors.sinks.exceptions import SinkConfigError
from connectors.sinks.http_client import AiohttpTransport
from connectors.sinks.kafka_io import (
    ENDPOINT_HEADER,
    DeadLetters,
    commit,
    committable,
    make_consumer,
    poll_batch,
    rewind,
)
from connectors.sinks.metrics import WebhookMetrics
from connectors.sinks.records import Change, RawRecord, change_document, to_change
from connectors.sinks.service import SinkService
from connectors.sinks.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, VIEW_HEADER, sign
from connectors.sinks.signing import idempotency_key as make_idempotency_key
from connectors.sinks.views import by_physical, view_named
from schemas import registry
from schemas.avro import load_schema_set
from schemas.catalogue import WEBHOOK_SINK, Topic
from schemas.codec import FastDecoder
from schemas.exceptions import DecodeError
from schemas.settings import Settings

log = get_logger("webhook-sink")

NAME = "webhook-sink"


class WebhookSink(SinkService):
    """One consumer group for all endpoints; ``start``/``stop`` or ``run``/``request_stop``."""

    name = NAME

    def __init__(
        self,
        settings: Settings,
        metrics: WebhookMetrics | None = None,
        *,
        own_process: bool = False,
    ) -> None:
        super().__init__(own_process=own_process)
        self.settings = settings
        self.config = settings.connectors.webhook_sink
        self.metrics = metrics or WebhookMetrics()
        self._endpoints = _endpoints(settings, self.metrics)
        views = {v for e in self._endpoints for v in e.views}
        self._topics = by_physical((view_named(v) for v in views), settings.topics.prefix)
        self._routes = {v: [e for e in self._endpoints if v in e.views] for v in views}
        self._parallel = asyncio.Semaphore(self.config.max_parallel_keys)
        self._decoder = FastDecoder(registry.make_client(settings.registry), load_schema_set())
        self._dead_letters = DeadLetters(settings, WEBHOOK_SINK)
        self._transport = AiohttpTransport(self.config.max_parallel_keys * len(self._endpoints))

    @property
    def topics(self) -> list[str]:
        return sorted(self._topics)

    async def run(self) -> None:
        """Deliver until stopped: in-flight attempts finish, waiting retries are abandoned."""
        if self.config.metrics_port is not None:
            self.metrics.serve(self.config.metrics_port)
        consumer = make_consumer(self.settings, self.config.group_id, self.topics)
        deliverer = self._deliverer()
        log.info("webhook sink started", extra={"fields": {"topics": self.topics}})
        self._set_ready()
        try:
            while not self.stopping:
                batch = await poll_batch(
                    consumer, self.config.batch_max_records, self.config.poll_timeout_s
                )
                if batch:
                    await self._handle_batch(consumer, batch, deliverer)
        finally:
            await asyncio.to_thread(consumer.close)
            await self._transport.close()
            self.metrics.close()
            log.info("webhook sink stopped")

    def _deliverer(self) -> Deliverer:
        backoff = Backoff(
            self.config.backoff_initial_s,
            self.config.backoff_multiplier,
            self.config.backoff_max_s,
            self.config.backoff_jitter,
        )
        return Deliverer(
            self._transport, backoff, self.config.max_attempts, self.metrics, self._stopping
        )

    async def _handle_batch(
        self, consumer: Consumer, batch: list[RawRecord], deliverer: Deliverer
    ) -> None:
        started = time.monotonic()
        done: set[tuple[str, int, int]] = set()
        async with asyncio.TaskGroup() as group:
            for records in _by_key(batch).values():
                group.create_task(self._run_key(records, deliverer, done))
        await self._dead_letters.flush()
        offsets = committable(batch, done)
        await commit(consumer, offsets)
        if len(done) < len(batch) and not self.stopping:
            rewind(consumer, offsets)
        self.metrics.batch_seconds.labels(sink="webhook").observe(time.monotonic() - started)

    async def _run_key(
        self, records: Sequence[RawRecord], deliverer: Deliverer, done: set[tuple[str, int, int]]
    ) -> None:
        """One key's records, strictly in offset order; stop at the first not done."""
        async with self._parallel:
            for raw in records:
                if not await self._handle(raw, deliverer):
                    return
                done.add((raw.topic, raw.partition, raw.offset))

    async def _handle(self, raw: RawRecord, deliverer: Deliverer) -> bool:
        """Deliver one record to its endpoints; True once each delivered or dead-lettered."""
        view = self._topics[raw.topic]
        try:
            change = to_change(raw, view, self._decoder)
        except DecodeError as exc:
            self._dead_letter(raw, view, exc.reason, exc)
            return True
        body = orjson.dumps(change_document(change))
        results = await asyncio.gather(
            *(self._deliver(e, change, body, deliverer) for e in self._routes[view.name])
        )
        return all(results)

    async def _deliver(
        self, endpoint: Endpoint, change: Change, body: bytes, deliverer: Deliverer
    ) -> bool:
        raw = change.source
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(endpoint.secret, body),
            IDEMPOTENCY_HEADER: make_idempotency_key(raw.topic, raw.partition, raw.offset),
            VIEW_HEADER: change.view.name,
        }
        delivery = await deliverer.deliver(endpoint, body, headers)
        if delivery.outcome is Outcome.ABANDONED:
            return False
        self._account(endpoint, change, delivery)
        if delivery.outcome is not Outcome.DELIVERED:
            error = delivery.error or delivery.outcome.value
            reason = delivery.error.reason if delivery.error else delivery.outcome.value
            self._dead_letter(raw, change.view, reason, error, endpoint.channel)
        return True

    def _account(self, endpoint: Endpoint, change: Change, delivery: Delivery) -> None:
        self.metrics.deliveries.labels(endpoint=endpoint.channel, outcome=delivery.outcome).inc()
        self.metrics.latency.labels(endpoint=endpoint.channel).observe(delivery.seconds)
        if delivery.outcome is Outcome.DELIVERED:
            self.metrics.record(change.view.name, "delivered")
        fields = {
            "endpoint": endpoint.channel,
            "view": change.view.name,
            "key": change.key,
            "offset": change.source.offset,
            "attempts": delivery.attempts,
            "outcome": delivery.outcome.value,
        }
        if delivery.outcome is Outcome.DELIVERED:
            log.debug("delivered", extra={"fields": fields})
        else:
            fields["error"] = str(delivery.error)
            log.warning("delivery failed", extra={"fields": fields})

    def _dead_letter(
        self,
        raw: RawRecord,
        view: Topic,
        reason: str,
        error: BaseException | str,
        endpoint: str | None = None,
    ) -> None:
        extra = [(ENDPOINT_HEADER, endpoint)] if endpoint is not None else []
        self._dead_letters.send(raw, reason, error, extra)
        self.metrics.dead_letters.labels(reason=reason, topic=raw.topic).inc()
        self.metrics.record(view.name, "dead_letter")


def _endpoints(settings: Settings, metrics: WebhookMetrics) -> list[Endpoint]:
    config = settings.connectors.webhook_sink
    if not config.endpoints:
        raise SinkConfigError(
            "the webhook sink has no endpoints: set OMNI_CONNECTORS__WEBHOOK_SINK__ENDPOINTS"
        )
    channels = [e.channel for e in config.endpoints]
    duplicates = sorted({c for c in channels if channels.count(c) > 1})
    if duplicates:
        raise SinkConfigError(f"webhook endpoints need unique channels; repeated: {duplicates}")
    endpoints = []
    for endpoint in config.endpoints:
        if not endpoint.views:
            raise SinkConfigError(f"webhook endpoint {endpoint.channel!r} subscribes to no view")
        views = frozenset(view_named(name).name for name in endpoint.views)
        endpoints.append(make_endpoint(endpoint, views, config, metrics))
    return endpoints


def _by_key(batch: Sequence[RawRecord]) -> dict[tuple[str, int, bytes | None], list[RawRecord]]:
    """Records grouped by where their order matters, each group in offset order."""
    groups: dict[tuple[str, int, bytes | None], list[RawRecord]] = defaultdict(list)
    for raw in batch:
        groups[(raw.topic, raw.partition, raw.key)].append(raw)
    return groups


def create(settings: Settings) -> WebhookSink:
    """The registry's factory: ``omni connector run webhook-sink``."""
    return WebhookSink(settings, own_process=True)


def run(settings: Settings) -> None:
    """Entry point: run the sink until SIGTERM or SIGINT."""
    run_service(create, settings)
