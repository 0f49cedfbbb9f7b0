"""B2: end-to-end latency at fixed offered rates, collector to view topic and to query API.

Batches of Segment messages go to ``/v1/batch`` every ``TICK_S`` on a fixed
schedule, each request in its own task, so a slow answer never delays the
next send (no coordinated omission). Latency counts from a message's
scheduled send time, which is no later than the collector accepting it:

* (a) to the cart view record that shows its unique SKU, read by a consumer
  that follows ``omni.view.carts`` (latency taken when the record arrives);
* (b) to ``GET /v1/carts/{identifier}`` first showing that SKU, for a sample
  of the messages (``QUERY_SAMPLES_PER_S``). A probe polls every ``POLL_S`` at
  first, then every tenth of the time it has waited (at most ``POLL_MAX_S``):
  the resolution stays within 10% of the latency, and the probes' load stays
  a small, bounded part of the traffic. (Polling every 5 ms whatever the wait made the
  probes themselves the load once the views lagged: twenty new probes a
  second, each asking 200 times a second, buried the worker's API and
  event loop, and the views lagged further.)

Only ``Product Added`` messages are measured (they cross both processor
stages: the identity resolver and the customer stage); the other messages of
the mix are the load around them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from confluent_kafka import TopicPartition

from schemas.catalogue import CART_VIEW
from schemas.codec import FastDecoder
from tests.bench import procs
from tests.bench.collector import Collector, batch_body, start_collector
from tests.bench.env import BenchEnv, create_changelogs, end_offsets
from tests.bench.recovery import skip_sources
from tests.bench.segment import Message, Messages

TICK_S = 0.01
POLL_S = 0.005
POLL_MAX_S = 0.1
QUERY_SAMPLES_PER_S = 5  # each probe polls the worker's API until it sees its SKU
DRAIN_S = 20.0


@dataclass
class LatencyResult:
    """Latencies of one offered rate; what never showed up within ``drain_s`` is ``missing``."""

    rate: int
    drain_s: float
    view_ms: list[float] = field(default_factory=list)
    query_ms: list[float] = field(default_factory=list)
    accept_ms: list[float] = field(default_factory=list)
    missing: int = 0
    query_missing: int = 0
    refused: int = 0
    probes: dict[str, float] = field(default_factory=dict)  # probe SKU -> its due time

    def percentiles(self, values: list[float], missing: int) -> dict[str, float]:
        """p50, p99, max; a missing answer counts as the wait it outlasted (a lower bound)."""
        data = sorted([*values, *[1000 * self.drain_s] * missing])
        if not data:
            return {"p50_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}

        def pick(q: float) -> float:
            return round(data[min(len(data) - 1, int(len(data) * q))], 1)

        return {"p50_ms": pick(0.5), "p99_ms": pick(0.99), "max_ms": round(data[-1], 1)}

    def view(self) -> dict[str, float]:
        return self.percentiles(self.view_ms, self.missing)

    def query(self) -> dict[str, float]:
        return self.percentiles(self.query_ms, self.query_missing)


class ViewWatcher:
    """Follows the cart view topic from its end; pops pending SKUs as their views arrive."""

    def __init__(self, env: BenchEnv) -> None:
        self.env = env
        self.pending: dict[str, float] = {}
        self.seen: list[float] = []
        self.decoder = FastDecoder(env.client, env.schema_set)
        self.stop = threading.Event()
        topic = env.topic(CART_VIEW)
        ends = end_offsets(env, [topic])
        self.consumer = env.consumer(None, **{"fetch.wait.max.ms": 5})
        self.consumer.assign([TopicPartition(t, p, o) for (t, p), o in ends.items()])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            message = self.consumer.poll(0.05)
            if message is None or message.error() or message.value() is None:
                continue
            now = time.time()
            for item in self.decoder.decode(message.value()).value.get("items", ()):
                due = self.pending.pop(item["sku"], None)
                if due is not None:
                    self.seen.append(1000 * (now - due))

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.consumer.close()


def poll_interval(waited_s: float) -> float:
    """The wait before a probe's next request: a tenth of its wait so far, within bounds."""
    return min(max(POLL_S, waited_s / 10), POLL_MAX_S)


async def _probe(
    session: aiohttp.ClientSession, message: Message, due: float, drain_s: float
) -> float | None:
    """Milliseconds from ``due`` until the query API shows the message's SKU."""
    deadline = due + drain_s
    path = f"/v1/carts/{message.identifier}"
    while time.time() < deadline:
        try:
            async with session.get(path) as answer:
                body = await answer.read()
        except aiohttp.ClientError:
            body = b""
        if message.probe is not None and message.probe.encode() in body:
            return 1000 * (time.time() - due)
        await asyncio.sleep(poll_interval(time.time() - due))
    return None


async def _offer(
    collector: Collector,
    worker_url: str,
    watcher: ViewWatcher,
    rate: int,
    seconds: float,
    drain_s: float = DRAIN_S,
) -> LatencyResult:
    result = LatencyResult(rate, drain_s)
    per_tick = max(1, round(rate * TICK_S))
    ticks = int(seconds / TICK_S)
    messages = Messages(seed=rate)
    batches = [messages.take(per_tick) for _ in range(ticks)]
    bodies = [batch_body([m.body for m in batch]) for batch in batches]
    probes_every = max(1, int(rate * 0.12 / QUERY_SAMPLES_PER_S))
    headers = {"Authorization": collector.auth, "Content-Type": "application/json"}
    tasks: list[asyncio.Task[None]] = []
    queries: list[asyncio.Task[float | None]] = []
    async with (
        aiohttp.ClientSession(collector.url) as session,
        aiohttp.ClientSession(worker_url) as api,
    ):

        async def send(body: bytes, due: float) -> None:
            async with session.post("/v1/batch", data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    result.refused += per_tick
            result.accept_ms.append(1000 * (time.time() - due))

        start = time.time() + 0.1
        probes = 0
        for n, (batch, body) in enumerate(zip(batches, bodies, strict=True)):
            due = start + n * TICK_S
            for message in batch:
                if message.probe is not None:
                    watcher.pending[message.probe] = due
                    result.probes[message.probe] = due
                    probes += 1
                    if probes % probes_every == 0:
                        queries.append(asyncio.create_task(_probe(api, message, due, drain_s)))
            delay = due - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(send(body, due)))
        await asyncio.gather(*tasks)
        found = await asyncio.gather(*queries)
    result.query_ms = [v for v in found if v is not None]
    result.query_missing = len(found) - len(result.query_ms)
    return result


def _drain(watcher: ViewWatcher, timeout_s: float = DRAIN_S) -> int:
    """Wait for the views still pending; how many never came."""
    deadline = time.monotonic() + timeout_s
    while watcher.pending and time.monotonic() < deadline:
        time.sleep(0.1)
    missing = len(watcher.pending)
    watcher.pending.clear()
    return missing


def measure(
    env: BenchEnv,
    rates: tuple[int, ...],
    seconds: float,
    drain_s: float = DRAIN_S,
    profile: Path | None = None,
) -> dict[int, LatencyResult]:
    """One fresh worker and collector; each rate offered for ``seconds``.

    With ``profile``, the worker is sampled by py-spy while the first rate is offered.
    """
    app_id = env.app_id("latency")
    create_changelogs(env, app_id)
    skip_sources(env, app_id)  # earlier rows' events are not this row's load
    worker = procs.worker(
        env.worker_env(app_id, env.workdir / "latency"), "w1", env.workdir / "latency.log"
    )
    worker_url = f"http://127.0.0.1:{worker.env['OMNI_STREAMS__WEB_PORT']}"
    worker.start()
    collector = None
    watcher = None
    try:
        collector = start_collector(env, "collector-latency")
        watcher = ViewWatcher(env)
        asyncio.run(_offer(collector, worker_url, watcher, 200, 2.0))  # warm-up, not measured
        if _drain(watcher, timeout_s=120):
            raise RuntimeError(f"warm-up views never arrived:\n{worker.tail()}")
        watcher.seen.clear()
        results = {}
        for n, rate in enumerate(rates):
            spy = procs.start_profiler(worker.proc.pid, profile) if profile and n == 0 else None
            result = asyncio.run(_offer(collector, worker_url, watcher, rate, seconds, drain_s))
            if spy is not None:
                procs.stop_profiler(spy)
            result.missing = _drain(watcher, drain_s)
            result.view_ms, watcher.seen = watcher.seen, []
            results[rate] = result
            print(
                f"B2 at {rate}/s: {len(result.view_ms)} views, {result.missing} missing", flush=True
            )
        return results
    finally:
        if watcher is not None:
            watcher.close()
        if collector is not None:
            collector.stop()
        worker.stop()
