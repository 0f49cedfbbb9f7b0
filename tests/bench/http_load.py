"""An open-loop HTTP/1.1 GET load generator that costs the machine little.

B5 shares two cores between the worker it measures and the process that
loads it. aiohttp's client spent about 260 µs of CPU per request here, a
quarter of a core at 2k requests/s, and every millisecond it was late
counted as the server's (latency runs from the due time). This client
writes pre-built request bytes on keep-alive connections and reads each
answer by its ``Content-Length``, on uvloop: what remains in the figures is
the server's time, queueing included.

Open loop, as before: request ``i`` is due at ``start + i / rate`` whatever
happened to earlier ones; a request waits for a free connection when all
are busy, and that wait counts too.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import uvloop

# (label, status, latency in ms); status 0: the connection failed
Answer = Callable[[str, int, float], None]


@dataclass(frozen=True, slots=True)
class Request:
    label: str
    path: str
    due: float


class _Connection(asyncio.Protocol):
    """One keep-alive connection carrying one request at a time."""

    def __init__(self, host: str, answer: Answer, idle: Callable[[_Connection], None]) -> None:
        self.host = host
        self.answer = answer
        self.idle = idle
        self.transport: Any = None  # uvloop's transports are not asyncio.Transport subclasses
        self.buffer = bytearray()
        self.pending: Request | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def send(self, request: Request) -> None:
        assert self.transport is not None
        assert self.pending is None
        self.pending = request
        self.transport.write(
            f"GET {request.path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode("ascii")
        )

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.pending is None:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        length = next(
            (int(h.split(b":", 1)[1]) for h in head if h.lower().startswith(b"content-length:")),
            0,
        )
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        request, self.pending = self.pending, None
        status = int(head[0].split(b" ", 2)[1])
        self.answer(request.label, status, 1000 * (time.perf_counter() - request.due))
        self.idle(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.pending is not None:
            request, self.pending = self.pending, None
            self.answer(request.label, 0, 1000 * (time.perf_counter() - request.due))
        if not self.closed.done():
            self.closed.set_result(None)


async def _load(
    host: str,
    port: int,
    plan: Sequence[tuple[str, str]],
    rate: float,
    connections: int,
    answer: Answer,
    timeout_s: float,
) -> float:
    loop = asyncio.get_running_loop()
    idle: deque[_Connection] = deque()
    waiting: deque[Request] = deque()
    done = 0
    warming = loop.create_future()

    def on_answer(label: str, status: int, ms: float) -> None:
        nonlocal done
        done += 1
        if warming.done():
            answer(label, status, ms)
        elif done == connections:
            done = 0
            warming.set_result(None)

    def on_idle(conn: _Connection) -> None:
        if waiting:
            conn.send(waiting.popleft())
        else:
            idle.append(conn)

    pool = []
    for _ in range(connections):
        _, conn = await loop.create_connection(
            lambda: _Connection(f"{host}:{port}", on_answer, on_idle), host, port
        )
        pool.append(conn)
    # Warm every connection and the worker's routes before the clock starts.
    for conn, (label, path) in zip(pool, (plan * connections)[:connections], strict=True):
        conn.send(Request(label, path, time.perf_counter()))
    await asyncio.wait_for(warming, timeout_s)
    start = time.perf_counter() + 0.05
    for n, (label, path) in enumerate(plan):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0.0005:
            await asyncio.sleep(delay)
        request = Request(label, path, due)
        if idle:
            idle.popleft().send(request)
        else:
            waiting.append(request)
    deadline = time.perf_counter() + timeout_s
    while done < len(plan) and time.perf_counter() < deadline:
        await asyncio.sleep(0.01)
    finished = time.perf_counter() - start
    for conn in pool:
        if conn.transport is not None:
            conn.transport.close()
    await asyncio.gather(*(conn.closed for conn in pool))
    for request in waiting:  # never sent before the deadline
        answer(request.label, 0, 1000 * timeout_s)
    return finished


def run(
    host: str,
    port: int,
    plan: Sequence[tuple[str, str]],
    rate: float,
    answer: Answer,
    connections: int = 64,
    timeout_s: float = 10.0,
) -> float:
    """Send ``plan`` (label, path) at ``rate``/s; ``answer`` gets each result; returns seconds.

    The garbage collector is off while it runs: the calling process (the bench)
    may hold a large heap, and one full collection of it stalls every request
    in flight for tens of milliseconds, which the figures would charge to the
    server. The load itself makes no reference cycles to collect.
    """
    gc.collect()
    gc.disable()
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(_load(host, port, plan, rate, connections, answer, timeout_s))
    finally:
        gc.enable()
