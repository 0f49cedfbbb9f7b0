"""A real HTTP receiver for the webhook sink's tests: aiohttp on a loopback port.

It checks what a channel's receiver would (signature, idempotency key), can
be told to fail attempts (status codes, or answering too late), and records
everything so the test can check retries, ordering and concurrency per key.
"""

from __future__ import annotations

import asyncio
import socket
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from connectors.sinks.signing import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

TIMEOUT = "timeout"
# (channel, document, attempt) -> an HTTP status, or TIMEOUT to answer after the sink gave up.
Behaviour = Callable[[str, dict[str, Any], int], int | str]


@dataclass
class Attempt:
    channel: str
    idempotency_key: str
    attempt: int
    body: bytes
    signature: str
    signed: bool
    answered: int | str


@dataclass
class Receiver:
    secrets: dict[str, bytes]
    behaviour: Behaviour
    late_s: float = 1.0
    work_s: float = 0.01
    attempts: list[Attempt] = field(default_factory=list)
    accepted: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    order: dict[tuple[str, str, str], list[int]] = field(default_factory=lambda: defaultdict(list))
    overlaps: list[tuple[str, str, str]] = field(default_factory=list)
    _in_flight: dict[tuple[str, str, str], int] = field(default_factory=lambda: defaultdict(int))
    _runner: web.AppRunner | None = None
    _sock: socket.socket | None = None
    port: int = 0

    def url(self, channel: str) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/{channel}"

    def listen(self, port: int = 0) -> Receiver:
        """Bind now (a free port by default, or a known one to stand in for another receiver),
        so the sink's settings can name the URL before the loop runs."""
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = int(self._sock.getsockname()[1])
        return self

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hooks/{channel}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        assert self._sock is not None, "listen() first"
        await web.SockSite(self._runner, self._sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def count(self, channel: str) -> int:
        return sum(1 for (c, _) in self.accepted if c == channel)

    async def _handle(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        body = await request.read()
        document = orjson.loads(body)
        where = (channel, document["view"], document["key"])
        if self._in_flight[where]:
            self.overlaps.append(where)
        self._in_flight[where] += 1
        try:
            answer = self._record(channel, request, body, document)
            if answer != TIMEOUT:
                await asyncio.sleep(self.work_s)  # "work", so concurrent requests would overlap
        finally:
            self._in_flight[where] -= 1
        if answer == TIMEOUT:
            await asyncio.sleep(self.late_s)
            return web.Response(status=200)
        return web.Response(status=int(answer))

    def _record(
        self, channel: str, request: web.Request, body: bytes, document: dict[str, Any]
    ) -> int | str:
        attempt = int(request.headers["X-Omni-Attempt"])
        idempotency_key = request.headers[IDEMPOTENCY_HEADER]
        signature = request.headers[SIGNATURE_HEADER]
        answer = self.behaviour(channel, document, attempt)
        signed = verify(self.secrets[channel], body, signature)
        self.attempts.append(
            Attempt(channel, idempotency_key, attempt, body, signature, signed, answer)
        )
        if answer == 204 and (channel, idempotency_key) not in self.accepted:
            self.accepted[(channel, idempotency_key)] = document
            key = (channel, document["view"], document["key"])
            self.order[key].append(document["source"]["offset"])
        return answer
