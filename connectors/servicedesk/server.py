"""The service-desk webhook: ``POST /v1/servicedesk/events``, signed, to ``omni.service.cases``.

Order of checks, each with its own answer: the signature over the raw body
and the timestamp (401, nothing kept: an unauthenticated body is not ours to
store), then the JSON and every field (400 naming each bad field; the body
goes to the dead-letter topic), then Kafka (200 only once every record of the
request is acknowledged; 503 with ``Retry-After`` under backpressure).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiohttp import web

from connectors.core.events import Outgoing
from connectors.core.exceptions import InvalidEvent, MalformedBody
from connectors.core.http import HttpService, json_response
from connectors.core.ingest import read_body
from connectors.core.metrics import ConnectorMetrics
from connectors.core.publisher import Publisher
from connectors.servicedesk.mapping import RECORDS, map_event
from connectors.servicedesk.signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from schemas.settings import Settings

NAME = "servicedesk"
ROUTE = "/v1/servicedesk/events"
MAX_EVENTS = 500
MAX_PROBLEMS = 20


def events_of(payload: Any, source: str) -> list[Outgoing]:
    """One event object, or ``{"events": [...]}``; every bad field named (up to 20)."""
    if not isinstance(payload, dict):
        raise MalformedBody('body must be a JSON object: an event or {"events": [...]}')
    if "events" not in payload:
        return [map_event(payload, "", source)]
    items = payload["events"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_EVENTS:
        raise InvalidEvent([f"events: must be an array of 1 to {MAX_EVENTS} events"])
    out: list[Outgoing] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            out.append(map_event(item, f"events[{index}]", source))
        except InvalidEvent as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidEvent(problems[:MAX_PROBLEMS])
    return out


class ServiceDesk(HttpService):
    """Chat and call-centre conversations from the service desk."""

    def __init__(self, settings: Settings, publisher: Publisher | None = None) -> None:
        config = settings.connectors.service_desk
        metrics = ConnectorMetrics(NAME)
        publisher = publisher or Publisher.for_connector(settings, NAME, config, metrics)
        super().__init__(
            NAME,
            host=config.host,
            port=config.port,
            publisher=publisher,
            metrics=metrics,
            client_max_size=config.max_body_bytes,
            drain_timeout_s=config.drain_timeout_s,
        )
        self.config = config
        self.secrets = [secret.get_secret_value() for secret in config.secrets]

    async def prepare(self) -> None:
        await self.publisher.prepare(RECORDS)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(ROUTE, self.events)

    async def events(self, request: web.Request) -> web.Response:
        body = await read_body(request, self.config.max_body_bytes)
        verify(
            self.secrets,
            body,
            request.headers.get(SIGNATURE_HEADER),
            request.headers.get(TIMESTAMP_HEADER),
            time.time(),
            self.config.tolerance_s,
        )
        try:
            events = events_of(_json(body), self.config.source)
        except (InvalidEvent, MalformedBody) as exc:
            await self.publisher.dead_letter(
                body, key=None, reason=exc.code, error=exc, origin=f"{NAME} {ROUTE}"
            )
            raise
        await self.publisher.publish_many(events)
        return json_response(200, {"accepted": len(events)})


def _json(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc


def create(settings: Settings) -> ServiceDesk:
    """The registry's factory: ``omni connector run servicedesk``."""
    return ServiceDesk(settings)
