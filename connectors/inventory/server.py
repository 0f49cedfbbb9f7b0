"""The ERP feed: stock movements, snapshots and prices by HTTP or as CSV files.

``POST /v1/inventory/movements``, ``/v1/inventory/snapshots`` and
``/v1/inventory/prices`` take JSON (one record, or ``{"movements": [...]}``,
``{"snapshots": [...]}``, ``{"prices": [...]}``; a JSON snapshot is
``{"location_id", "counted_at", "items": [{"sku", "quantity"}]}``), CSV or
JSON lines (one flat record per row). HTTP is all or nothing (400 naming
every bad field, body to the dead-letter topic). Files dropped in the
watched folder say their kind by name (``movements*``, ``snapshot*`` or
``counts*``, ``prices*``) and are judged row by row, as the POS connector's
(``connectors.core.files``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
from aiohttp import hdrs, web

from connectors.core.events import Outgoing
from connectors.core.exceptions import InvalidEvent, MalformedBody
from connectors.core.fields import FieldError, Fields
from connectors.core.files import (
    FileHandler,
    FileOutcome,
    FolderFeed,
    RowPublisher,
    publish_file,
)
from connectors.core.http import HttpService, json_response
from connectors.core.ingest import ApiKeys, body_format, read_body
from connectors.core.metrics import ConnectorMetrics
from connectors.core.rows import Reject, Unit, format_of, parse, split_lines
from connectors.inventory.records import RECORDS, kind_of_file, record, snapshot_rows
from schemas.settings import InventorySettings, Settings

NAME = "inventory"
ROUTES = {
    "/v1/inventory/movements": "movement",
    "/v1/inventory/snapshots": "count",
    "/v1/inventory/prices": "price",
}
LIST_KEY = {"movement": "movements", "count": "snapshots", "price": "prices"}
MAX_PROBLEMS = 20


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Context:
    """What every row of one request or file shares: its kind, source, currency and time."""

    def __init__(self, kind: str, source: str, currency: str, received_at: int) -> None:
        self.kind = kind
        self.source = source
        self.currency = currency
        self.received_at = received_at

    def record(self, row: Fields) -> Outgoing:
        return record(self.kind, row, self.source, self.currency, self.received_at)


def json_rows(kind: str, payload: Any) -> list[tuple[dict[str, Any], str]]:
    """A JSON body's records as (flat row, path) pairs."""
    key = LIST_KEY[kind]
    if not isinstance(payload, dict):
        raise MalformedBody(f"body must be a JSON object: one record or {{{key!r}: [...]}}")
    listed = key in payload
    items = payload[key] if listed else [payload]
    if not isinstance(items, list) or not items:
        raise InvalidEvent([f"{key}: must be a non-empty array"])
    rows: list[tuple[dict[str, Any], str]] = []
    for index, item in enumerate(items):
        path = f"{key}[{index}]" if listed else ""
        if not isinstance(item, dict):
            raise FieldError(path or "(body)", "must be a JSON object")
        rows.extend(snapshot_rows(item, path) if kind == "count" else [(item, path)])
    return rows


def events_of_json(context: Context, body: bytes) -> list[Outgoing]:
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc
    out: list[Outgoing] = []
    problems: list[str] = []
    for values, path in json_rows(context.kind, payload):
        try:
            out.append(context.record(Fields(values, path)))
        except InvalidEvent as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidEvent(problems[:MAX_PROBLEMS])
    return out


def units_of_rows(context: Context, data: bytes, fmt: str) -> tuple[list[Unit], list[Reject]]:
    """A CSV or JSON-lines document: one unit per good row, and the refused rows."""
    rows, rejects = parse(data, fmt)
    units: list[Unit] = []
    for row in rows:
        try:
            event = context.record(Fields(row.values, textual=fmt == "csv"))
        except InvalidEvent as exc:
            rejects.append(Reject(row.line.number, row.line.raw, "invalid_row", str(exc)))
            continue
        units.append(Unit([event], [row.line]))
    return units, sorted(rejects, key=lambda r: r.line)


class InventoryFeed(HttpService):
    """Stock and prices from the ERP; see the module docstring."""

    def __init__(self, settings: Settings, publisher: RowPublisher | None = None) -> None:
        config = settings.connectors.inventory
        metrics = ConnectorMetrics(NAME)
        self.rows = publisher or RowPublisher.for_connector(settings, NAME, config, metrics)
        super().__init__(
            NAME,
            host=config.host,
            port=config.port,
            publisher=self.rows,
            metrics=metrics,
            client_max_size=config.max_body_bytes,
            drain_timeout_s=config.drain_timeout_s,
        )
        self.config = config
        self.keys = ApiKeys(config.api_keys, "OMNI_CONNECTORS__INVENTORY__API_KEYS")
        self.feed = _feed(config, self.read_file)

    async def prepare(self) -> None:
        await self.publisher.prepare(RECORDS)

    async def start(self) -> None:
        await super().start()
        if self.feed is not None:
            self.feed.start()

    async def stop(self) -> None:
        if self.feed is not None:
            await self.feed.stop(self.config.drain_timeout_s)
        await super().stop()

    def add_routes(self, app: web.Application) -> None:
        for path in ROUTES:
            app.router.add_post(path, self.post)
        app.router.add_get("/v1/feed", self.feed_status)

    def context(self, kind: str, received_at: int) -> Context:
        return Context(kind, self.config.source, self.config.default_currency, received_at)

    async def post(self, request: web.Request) -> web.Response:
        """Authenticate, read every record, publish; 200 once Kafka acknowledged them all."""
        self.keys.check(request.headers.get(hdrs.AUTHORIZATION))
        body = await read_body(request, self.config.max_body_bytes)
        context = self.context(ROUTES[request.path], _now_ms())
        try:
            events = self._events(context, body, body_format(request.content_type))
        except (InvalidEvent, MalformedBody) as exc:
            await self.publisher.dead_letter(
                body, key=None, reason=exc.code, error=exc, origin=f"{NAME} {request.path}"
            )
            raise
        await self.publisher.publish_many(events)
        return json_response(200, {"accepted": len(events)})

    def _events(self, context: Context, body: bytes, fmt: str) -> list[Outgoing]:
        if fmt == "json":
            return events_of_json(context, body)
        units, rejects = units_of_rows(context, body, fmt)
        if rejects:
            raise InvalidEvent([f"line {r.line}: {r.message}" for r in rejects][:MAX_PROBLEMS])
        if not units:
            raise InvalidEvent(["(body): no records"])
        return [event for unit in units for event in unit.events]

    async def feed_status(self, _request: web.Request) -> web.Response:
        if self.feed is None:
            return json_response(200, {"watching": None})
        body = {
            "watching": str(self.feed.folder),
            "files_read": self.feed.files_read,
            "failure": None if self.feed.failure is None else repr(self.feed.failure),
        }
        return json_response(503 if self.feed.failure is not None else 200, body)

    async def read_file(self, path: Path, data: bytes) -> FileOutcome:
        kind = kind_of_file(path.name)
        if kind is None:
            message = "unknown file kind: name it movements*, snapshot*, counts* or prices*"
            lines = split_lines(data)
            rejects = [Reject(ln.number, ln.raw, "unknown_file_kind", message) for ln in lines]
            return await publish_file(self.rows, path.name, [], rejects)
        received_at = path.stat().st_mtime_ns // 1_000_000
        units, rejects = units_of_rows(
            self.context(kind, received_at), data, format_of(path.name) or "csv"
        )
        return await publish_file(self.rows, path.name, units, rejects)


def _feed(config: InventorySettings, handler: FileHandler) -> FolderFeed | None:
    if config.watch_dir is None:
        return None
    return FolderFeed(
        config.watch_dir,
        handler,
        name=NAME,
        settle_s=config.settle_s,
        poll_interval_s=config.poll_interval_s,
        max_file_bytes=config.max_file_bytes,
    )


def create(settings: Settings) -> InventoryFeed:
    """The registry's factory: ``omni connector run inventory``."""
    return InventoryFeed(settings)
