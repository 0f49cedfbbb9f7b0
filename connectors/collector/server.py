"""The collector's HTTP server: Segment's Tracking API in front of the publisher.

Routes are Segment's (``/v1/track`` ... ``/v1/batch``) and the one-letter
paths analytics.js posts to (``/v1/t``, ``/v1/b`` ...). A request is answered
200 only after Kafka acknowledged every event in it; a bad one gets a 4xx
naming the field, and its body goes to the dead-letter topic so nothing an
authenticated SDK sent is lost.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web

from connectors.collector.body import (
    WriteKeys,
    check_event_sizes,
    decoded_body,
    json_object,
    write_key_from_header,
)
from connectors.collector.fields import FieldError, instant
from connectors.collector.mapping import map_messages
from connectors.collector.origin import Origin
from connectors.core.exceptions import (
    ConnectorConfigError,
    InvalidEvent,
    MalformedBody,
    PayloadTooLarge,
    Unauthorized,
)
from connectors.core.http import HttpService, json_response
from connectors.core.metrics import ConnectorMetrics
from connectors.core.publisher import Publisher
from schemas.avro import load_schema_set
from schemas.catalogue import ALL_TOPICS, COLLECTOR
from schemas.settings import CollectorSettings, Settings

NAME = "collector"
SINGLE_ROUTES = {
    "track": ("/v1/track", "/v1/t"),
    "identify": ("/v1/identify", "/v1/i"),
    "page": ("/v1/page", "/v1/p"),
    "screen": ("/v1/screen", "/v1/s"),
    "alias": ("/v1/alias", "/v1/a"),
    "group": ("/v1/group", "/v1/g"),
}
BATCH_ROUTES = ("/v1/batch", "/v1/b", "/v1/import")
SUCCESS = {"success": True}


def collector_records() -> list[str]:
    """Every record of the topics the catalogue says the collector publishes to."""
    return [r for t in ALL_TOPICS if COLLECTOR in t.publishers for r in t.records]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Collector(HttpService):
    """Segment-compatible collector for web and app SDKs (analytics.js, mobile, server)."""

    def __init__(self, settings: Settings, publisher: Publisher | None = None) -> None:
        config = settings.connectors.collector
        metrics = ConnectorMetrics(NAME)
        publisher = publisher or Publisher.for_connector(settings, NAME, config, metrics)
        super().__init__(
            NAME,
            host=config.host,
            port=config.port,
            publisher=publisher,
            metrics=metrics,
            client_max_size=config.max_batch_bytes,
            drain_timeout_s=config.drain_timeout_s,
            cors_origins=config.cors_origins,
        )
        self.config = config
        self.write_keys = _write_keys(config)

    async def prepare(self) -> None:
        await self.publisher.prepare(collector_records())

    def add_routes(self, app: web.Application) -> None:
        for kind, paths in SINGLE_ROUTES.items():
            for path in paths:
                app.router.add_post(path, self._single(kind))
        for path in BATCH_ROUTES:
            app.router.add_post(path, self._batch)

    def _single(self, kind: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            return await self._handle(request, kind)

        return handle

    async def _batch(self, request: web.Request) -> web.Response:
        return await self._handle(request, None)

    async def _handle(self, request: web.Request, kind: str | None) -> web.Response:
        """Authenticate, read, map and publish; 200 only once Kafka has every event."""
        received_at = _now_ms()
        header_key = write_key_from_header(request.headers.get(hdrs.AUTHORIZATION))
        if header_key is not None and not self.write_keys.knows(header_key):
            raise Unauthorized("unknown write key")
        limit = self.config.max_event_bytes if kind else self.config.max_batch_bytes
        if request.content_length is not None and request.content_length > limit:
            raise PayloadTooLarge(f"body is {request.content_length} bytes, the limit is {limit}")
        body = decoded_body(await request.read(), request.headers.get(hdrs.CONTENT_ENCODING), limit)
        try:
            payload = json_object(body)
        except MalformedBody as exc:
            if header_key is not None:
                await self._dead_letter(body, exc, request)
            raise
        source, channel = self.write_keys.resolve(header_key or _body_key(payload))
        try:
            events = map_messages(
                _messages(payload, kind, self.config.max_event_bytes, len(body)),
                Origin(
                    source,
                    channel,
                    received_at,
                    instant(payload, "sentAt", ""),
                    self.config.default_currency,
                    self.config.returns_location_id,
                ),
                batch=kind is None,
                implied_type=kind,
            )
        except InvalidEvent as exc:
            await self._dead_letter(body, exc, request)
            raise
        await self.publisher.publish_many(events)
        return json_response(200, SUCCESS)

    async def _dead_letter(
        self, body: bytes, exc: InvalidEvent | MalformedBody, request: web.Request
    ) -> None:
        """The whole request, as sent: a batch is one unit to the SDK, so it is replayed as one."""
        await self.publisher.dead_letter(
            body, key=None, reason=exc.code, error=exc, origin=f"{NAME} {request.path}"
        )


def _body_key(payload: dict[str, Any]) -> str | None:
    key = payload.get("writeKey")
    if key is None or isinstance(key, str):
        return key
    raise Unauthorized("writeKey must be a string")


def _messages(
    payload: dict[str, Any], kind: str | None, event_limit: int, body_size: int
) -> list[Any]:
    if kind is not None:
        return [payload]
    batch = payload.get("batch")
    if not isinstance(batch, list):
        raise FieldError("batch", "is required and must be an array")
    if body_size > event_limit:  # a body within the event limit holds no event beyond it
        check_event_sizes(batch, event_limit)
    return batch


def _write_keys(config: CollectorSettings) -> WriteKeys:
    channels = set(load_schema_set().raw("omni.common.Channel")["symbols"])
    for entry in config.write_keys:
        if entry.channel not in channels:
            raise ConnectorConfigError(
                f"write key for source {entry.source!r}: channel {entry.channel!r} is not one of "
                f"{', '.join(sorted(channels))}"
            )
    return WriteKeys((e.key.get_secret_value(), e.source, e.channel) for e in config.write_keys)


def create(settings: Settings) -> Collector:
    """The registry's factory: ``omni connector run collector``."""
    return Collector(settings)
