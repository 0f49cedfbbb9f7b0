"""The POS connector: ``POST /v1/receipts`` and a watched folder of receipt files.

HTTP is all or nothing: a request with one bad receipt is answered 400 naming
every bad field (``receipts[2].lines[0].quantity: ...`` or, for CSV and JSON
lines bodies, ``line 7: quantity: ...``), nothing of it is published and its
body goes to the dead-letter topic. A file is judged row by row instead (a
till cannot be asked again): good receipts go through, each refused row goes
to the dead-letter topic with its file name and line number, and the file
moves to ``done/`` with a ``.rejects.json`` report (``connectors.core.files``).
"""

from __future__ import annotations

from pathlib import Path

import orjson
from aiohttp import hdrs, web

from connectors.core.exceptions import InvalidEvent, MalformedBody
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
from connectors.core.rows import Line, Reject, Unit, format_of, parse
from connectors.pos.mapping import RECORDS, events_for
from connectors.pos.receipts import Receipt, from_csv_rows, from_json
from schemas.settings import PosSettings, Settings

NAME = "pos"
MAX_PROBLEMS = 20


def parse_receipts(
    data: bytes, fmt: str, currency: str
) -> tuple[list[tuple[Receipt, list[Line]]], list[Reject]]:
    """A CSV or JSON-lines document: its receipts with their lines, and its refused rows."""
    rows, rejects = parse(data, fmt)
    if fmt == "csv":
        receipts, refused = from_csv_rows(rows, currency)
        return receipts, sorted([*rejects, *refused], key=lambda r: r.line)
    receipts = []
    for row in rows:
        try:
            receipts.append((from_json(row.values, "", currency), [row.line]))
        except InvalidEvent as exc:
            rejects.append(Reject(row.line.number, row.line.raw, "invalid_row", str(exc)))
    return receipts, sorted(rejects, key=lambda r: r.line)


def receipts_of_json(body: bytes, currency: str) -> list[Receipt]:
    """A JSON body: one receipt object, or ``{"receipts": [...]}``."""
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MalformedBody('body must be a JSON object: a receipt or {"receipts": [...]}')
    if "receipts" not in payload:
        return [from_json(payload, "", currency)]
    items = payload["receipts"]
    if not isinstance(items, list) or not items:
        raise InvalidEvent(["receipts: must be a non-empty array"])
    receipts: list[Receipt] = []
    problems: list[str] = []
    for index, item in enumerate(items):
        try:
            receipts.append(from_json(item, f"receipts[{index}]", currency))
        except InvalidEvent as exc:
            problems.extend(exc.problems)
    if problems:
        raise InvalidEvent(problems[:MAX_PROBLEMS])
    return receipts


class PosConnector(HttpService):
    """Receipts from tills, by HTTP or as files; see the module docstring."""

    def __init__(self, settings: Settings, publisher: RowPublisher | None = None) -> None:
        config = settings.connectors.pos
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
        self.keys = ApiKeys(config.api_keys, "OMNI_CONNECTORS__POS__API_KEYS")
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
        app.router.add_post("/v1/receipts", self.receipts)
        app.router.add_get("/v1/feed", self.feed_status)

    async def receipts(self, request: web.Request) -> web.Response:
        """Authenticate, parse every receipt, publish; 200 only once Kafka has them all."""
        self.keys.check(request.headers.get(hdrs.AUTHORIZATION))
        body = await read_body(request, self.config.max_body_bytes)
        try:
            receipts = self._parse(body, body_format(request.content_type))
        except (InvalidEvent, MalformedBody) as exc:
            await self.publisher.dead_letter(
                body, key=None, reason=exc.code, error=exc, origin=f"{NAME} {request.path}"
            )
            raise
        events = [event for receipt in receipts for event in events_for(receipt)]
        await self.publisher.publish_many(events)
        return json_response(200, {"accepted": len(receipts), "events": len(events)})

    async def feed_status(self, _request: web.Request) -> web.Response:
        """Whether the folder feed runs, and how many files it read."""
        if self.feed is None:
            return json_response(200, {"watching": None})
        status = 503 if self.feed.failure is not None else 200
        body = {
            "watching": str(self.feed.folder),
            "files_read": self.feed.files_read,
            "failure": None if self.feed.failure is None else repr(self.feed.failure),
        }
        return json_response(status, body)

    def _parse(self, body: bytes, fmt: str) -> list[Receipt]:
        currency = self.config.default_currency
        if fmt == "json":
            return receipts_of_json(body, currency)
        receipts, rejects = parse_receipts(body, fmt, currency)
        if rejects:
            raise InvalidEvent([f"line {r.line}: {r.message}" for r in rejects][:MAX_PROBLEMS])
        if not receipts:
            raise InvalidEvent(["(body): no receipts"])
        return [receipt for receipt, _ in receipts]

    async def read_file(self, path: Path, data: bytes) -> FileOutcome:
        fmt = format_of(path.name) or "csv"
        receipts, rejects = parse_receipts(data, fmt, self.config.default_currency)
        units = [Unit(events_for(receipt), lines) for receipt, lines in receipts]
        return await publish_file(self.rows, path.name, units, rejects)


def _feed(config: PosSettings, handler: FileHandler) -> FolderFeed | None:
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


def create(settings: Settings) -> PosConnector:
    """The registry's factory: ``omni connector run pos``."""
    return PosConnector(settings)
