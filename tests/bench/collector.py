"""B3 (collector ingest), B6's collector half, and B2 (end-to-end latency through the collector).

The collector runs as ``omni connector run collector``, its own process, with
a write key made for the run; requests are Segment ``/v1/batch`` bodies with
Basic auth. A 200 means Kafka acknowledged every event of the batch.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import aiohttp
import httpx
import orjson

from tests.bench import procs
from tests.bench.env import BenchEnv, free_port
from tests.bench.report import Row
from tests.bench.segment import Messages

if TYPE_CHECKING:
    from tests.bench.rows import State

WRITE_KEY = "bench-write-key"
BATCH = 100
IN_FLIGHT = 16


@dataclass
class Collector:
    proc: procs.Proc
    url: str

    @property
    def auth(self) -> str:
        return "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()

    def stop(self) -> None:
        self.proc.stop()


def start_collector(env: BenchEnv, name: str) -> Collector:
    """A collector process on a free port, publishing under the run's prefix."""
    port = free_port()
    proc_env = env.worker_env(env.app_id(name), env.workdir / name)
    proc_env.update(
        OMNI_CONNECTORS__COLLECTOR__PORT=str(port),
        OMNI_CONNECTORS__COLLECTOR__LOG_LEVEL="warning",
        OMNI_CONNECTORS__COLLECTOR__WRITE_KEYS=json.dumps(
            [{"key": WRITE_KEY, "source": "bench-web", "channel": "web"}]
        ),
    )
    cmd = [sys.executable, "-c", "from deploy.cli import main; main()", "connector", "run"]
    proc = procs.Proc([*cmd, "collector"], proc_env, env.workdir / f"{name}.log").start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        proc.check()
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return Collector(proc, url)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.stop()
    raise TimeoutError(f"collector not ready in 60s:\n{proc.tail()}")


def batch_body(messages: list[dict[str, object]]) -> bytes:
    return orjson.dumps({"batch": messages})


async def _ingest(collector: Collector, bodies: list[bytes]) -> tuple[float, int, int]:
    """Send every body with ``IN_FLIGHT`` requests at once; (seconds, accepted, refused)."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    accepted = refused = 0
    headers = {"Authorization": collector.auth, "Content-Type": "application/json"}

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal accepted, refused
        while not queue.empty():
            body = queue.get_nowait()
            async with session.post("/v1/batch", data=body, headers=headers) as answer:
                await answer.read()
                if answer.status == 200:
                    accepted += BATCH
                else:
                    refused += BATCH

    async with aiohttp.ClientSession(collector.url) as session:
        started = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(IN_FLIGHT)))
        return time.perf_counter() - started, accepted, refused


def ingest_row(state: State) -> Row:
    from tests.bench.rows import TITLES

    env, total = state.env, state.plan.ingest_events
    messages = Messages()
    bodies = [batch_body([m.body for m in messages.take(BATCH)]) for _ in range(total // BATCH)]
    collector = start_collector(env, "collector-ingest")
    sampler = procs.Sampler(collector.proc.pid).start()
    try:
        began = time.time()
        seconds, accepted, refused = asyncio.run(_ingest(collector, bodies))
        ended = time.time()
        state.collector_rss_mib = procs.memory_kib(collector.proc.pid)["VmHWM"] / 1024
    finally:
        sampler.stop()
        collector.stop()
    rate = accepted / seconds
    cpu_us = 1e6 * (sampler.cpu_at(ended) - sampler.cpu_at(began)) / max(accepted, 1)
    row = Row("B3", TITLES["B3"], target=">= 20k events/s")
    row.figures = {
        "events_per_s": round(rate),
        "cpu_us_per_event": round(cpu_us, 1),
        "events": accepted,
        "refused": refused,
        "seconds": round(seconds, 2),
        "in_flight_requests": IN_FLIGHT,
    }
    row.met = rate >= 20_000 and refused == 0
    row.summary = (
        f"{rate:,.0f} events/s accepted ({cpu_us:.0f} CPU µs/ev; "
        f"{IN_FLIGHT} requests in flight, {refused} refused)"
    )
    return row


def latency_row(state: State) -> Row:
    from tests.bench.latency import measure
    from tests.bench.rows import TITLES

    plan = state.plan
    raw = state.env.workdir / "latency.spy" if state.profile else None
    results = measure(state.env, (1000, 5000), plan.latency_seconds, plan.drain_seconds, raw)
    row = Row("B2", TITLES["B2"], target="p99 <= 50 ms, p50 <= 10 ms at 5k/s")
    if raw is not None and raw.exists():
        from tests.bench.profile import summarize
        from tests.bench.rows import keep_profile

        row.details["profile_at_1000"] = summarize(raw)
        print(f"B2 worker at 1000/s:\n{row.details['profile_at_1000']}", flush=True)
        keep_profile(raw, "b2-worker.spy")
    parts = []
    for rate, result in results.items():
        view, query = result.view(), result.query()
        for what, figures in (("view", view), ("query", query)):
            for name, value in figures.items():
                row.figures[f"{what}_{name}_at_{rate}"] = value
        row.figures[f"view_missing_at_{rate}"] = result.missing
        row.figures[f"query_missing_at_{rate}"] = result.query_missing
        row.figures[f"samples_at_{rate}"] = len(result.view_ms) + result.missing
        bound = ">=" if result.missing or result.query_missing else ""
        parts.append(
            f"{rate // 1000}k/s: view p50 {bound}{view['p50_ms']:.0f} / p99 {bound}"
            f"{view['p99_ms']:.0f} ms, query p50 {bound}{query['p50_ms']:.0f} / p99 {bound}"
            f"{query['p99_ms']:.0f} ms"
            + (
                f" ({result.missing} views not seen in {result.drain_s:.0f} s)"
                if result.missing
                else ""
            )
        )
    at_5k = results[5000]
    row.met = at_5k.view()["p99_ms"] <= 50 and at_5k.view()["p50_ms"] <= 10 and not at_5k.missing
    row.summary = "; ".join(parts)
    return row
