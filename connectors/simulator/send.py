"""Sending a step through the real connector: its URL, its credentials, its clock.

The simulator never writes to Kafka: every step is an HTTP request to a
running connector, authenticated the way that channel's system would be
(Segment write key as Basic auth, Bearer API keys, the desk's HMAC
signature). URLs and credentials come from the connectors' own settings, so
``omni simulate`` talks to whatever ``omni connector run ...`` serves.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson

from connectors.core.exceptions import ConnectorConfigError
from connectors.servicedesk.signature import signed_headers
from connectors.simulator.messages import COLLECTOR, INVENTORY, POS, SERVICE_DESK, Step
from schemas.settings import Settings

MAX_RETRIES = 5
ANY_HOST = ("0.0.0.0", "::", "")
TIME_FIELDS = {
    "/v1/inventory/movements": ("movements", "occurred_at"),
    "/v1/inventory/prices": ("prices", "updated_at"),
}


def _url(host: str, port: int) -> str:
    return f"http://{'127.0.0.1' if host in ANY_HOST else host}:{port}"


@dataclass(frozen=True)
class Endpoints:
    """Base URL and credentials of each connector, read from ``Settings``."""

    urls: dict[str, str]
    write_keys: dict[str, str]
    pos_key: str
    desk_secret: str
    inventory_key: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoints:
        c = settings.connectors
        return cls(
            urls={
                COLLECTOR: _url(c.collector.host, c.collector.port),
                POS: _url(c.pos.host, c.pos.port),
                SERVICE_DESK: _url(c.service_desk.host, c.service_desk.port),
                INVENTORY: _url(c.inventory.host, c.inventory.port),
            },
            write_keys=_write_keys(settings),
            pos_key=_first(c.pos.api_keys, "OMNI_CONNECTORS__POS__API_KEYS"),
            desk_secret=_first(c.service_desk.secrets, "OMNI_CONNECTORS__SERVICE_DESK__SECRETS"),
            inventory_key=_first(c.inventory.api_keys, "OMNI_CONNECTORS__INVENTORY__API_KEYS"),
        )

    def headers(self, step: Step, body: bytes, now_s: float) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if step.connector == COLLECTOR:
            token = base64.b64encode(f"{self.write_keys[step.key]}:".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif step.connector == SERVICE_DESK:
            headers.update(signed_headers(self.desk_secret, body, now_s))
        else:
            key = self.pos_key if step.connector == POS else self.inventory_key
            headers["Authorization"] = f"Bearer {key}"
        return headers


def _first(secrets: list[Any], setting: str) -> str:
    if not secrets:
        raise ConnectorConfigError(f"the simulator needs a credential: set {setting}")
    return str(secrets[0].get_secret_value())


def _write_keys(settings: Settings) -> dict[str, str]:
    keys = settings.connectors.collector.write_keys
    if not keys:
        raise ConnectorConfigError(
            "the simulator needs a collector write key: set OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS"
        )
    by_channel = {entry.channel: entry.key.get_secret_value() for entry in reversed(keys)}
    first = keys[0].key.get_secret_value()
    return {"web": by_channel.get("web", first), "app": by_channel.get("app", first)}


def iso(now_s: float) -> str:
    return datetime.fromtimestamp(now_s, UTC).isoformat(timespec="milliseconds")


def stamped(step: Step, now_s: float) -> dict[str, Any]:
    """The step's body with its times set to now (ids and content are the seed's)."""
    body = copy.deepcopy(step.body)
    at = iso(now_s)
    if step.connector == COLLECTOR:
        body["sentAt"] = at
        for message in body["batch"]:
            message["timestamp"] = at
    elif step.connector == POS:
        body["occurred_at"] = at
    elif step.connector == SERVICE_DESK:
        for event in body["events"]:
            event["occurred_at"] = at
    elif step.route == "/v1/inventory/snapshots":
        body["counted_at"] = at
    else:
        key, field = TIME_FIELDS[step.route]
        for row in body[key]:
            row[field] = at
    return body


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one step went: its HTTP status (0: no answer) and the connector's message."""

    status: int
    detail: str = ""

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


async def send(
    session: aiohttp.ClientSession,
    endpoints: Endpoints,
    step: Step,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    """POST the step; a 503 is retried after its ``Retry-After`` (the connector's backpressure)."""
    for _attempt in range(MAX_RETRIES):
        now = clock()
        body = orjson.dumps(stamped(step, now))
        url = endpoints.urls[step.connector] + step.route
        try:
            async with session.post(
                url, data=body, headers=endpoints.headers(step, body, now)
            ) as answer:
                status, text = answer.status, await answer.text()
                retry_after = answer.headers.get("Retry-After", "1")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return Outcome(0, f"{type(exc).__name__}: {exc}")
        if status != 503:
            return Outcome(status, "" if 200 <= status < 300 else text[:500])
        await asyncio.sleep(float(retry_after))
    return Outcome(503, f"still refused after {MAX_RETRIES} attempts")
