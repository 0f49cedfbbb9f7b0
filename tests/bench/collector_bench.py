"""Accepted events/s of one collector process on ``/v1/batch`` (batches of 100).

Not a pytest test. Run it against the local broker and registry (started if
they are not running, and stopped again afterwards if this run started them)::

    .venv/bin/python tests/bench/collector_bench.py [--seconds 20] [--clients 16] [--batch 100]

It registers the contract and creates the topics under a fresh prefix, starts
one collector (``omni connector run collector``) as a subprocess, then posts
pre-encoded Segment batches from ``--clients`` concurrent HTTP clients in this
process (a mix of page, Product Viewed, Product Added and custom track calls)
for ``--seconds``. An event counts when its request was answered 200, that is
when Kafka acknowledged it. It prints events/s, request latency percentiles,
answers by status, and the collector's CPU per event (its own process time, all
threads). ``--profile FILE`` samples the collector with py-spy
(``pip install py-spy``) and prints its top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from schemas.settings import Settings  # noqa: E402
from tests.integration.connectors.collector_process import (  # noqa: E402
    WEB_KEY,
    CollectorProcess,
)
from tests.integration.support import drop_prefix, isolated_settings  # noqa: E402


def event(i: int, anon: str) -> dict[str, Any]:
    kind = i % 4
    base = {
        "anonymousId": anon,
        "messageId": str(uuid.uuid4()),
        "timestamp": "2026-01-01T10:00:00Z",
    }
    if kind == 0:
        return {**base, "type": "page", "properties": {"url": f"https://shop.example/p/{i}"}}
    if kind == 1:
        props = {"product_id": f"P-{i % 500}", "sku": f"SKU-{i % 500}", "price": 19.99}
        return {**base, "type": "track", "event": "Product Viewed", "properties": props}
    if kind == 2:
        props = {"sku": f"SKU-{i % 500}", "price": 19.99, "quantity": 1 + i % 3}
        return {**base, "type": "track", "event": "Product Added", "properties": props}
    return {**base, "type": "track", "event": "Banner Clicked", "properties": {"slot": i % 7}}


def bodies(count: int, batch: int) -> list[bytes]:
    """Distinct pre-encoded requests, so the client spends its CPU on sending only."""
    out = []
    for b in range(count):
        anon = f"bench-{uuid.uuid4().hex[:12]}"
        events = [event(b * batch + i, anon) for i in range(batch)]
        out.append(orjson.dumps({"batch": events, "sentAt": "2026-01-01T10:00:01Z"}))
    return out


async def client(
    session: aiohttp.ClientSession,
    url: str,
    payloads: list[bytes],
    offset: int,
    until: float,
    stats: dict[str, Any],
) -> None:
    i = offset
    while time.monotonic() < until:
        body = payloads[i % len(payloads)]
        i += 1
        started = time.perf_counter()
        async with session.post(url, data=body) as answer:
            await answer.read()
            stats["status"][answer.status] += 1
            if answer.status == 200:
                stats["latency"].append(time.perf_counter() - started)
        if answer.status == 503:
            await asyncio.sleep(0.05)


async def load(url: str, clients: int, seconds: float, batch: int) -> dict[str, Any]:
    payloads = bodies(400, batch)
    auth = "Basic " + base64.b64encode(f"{WEB_KEY}:".encode()).decode()
    stats: dict[str, Any] = {"status": Counter(), "latency": []}
    connector = aiohttp.TCPConnector(limit=clients)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        # Warm-up: connections and the collector's first requests are not measured.
        await asyncio.gather(*(session.post(url, data=payloads[i]) for i in range(clients)))
        started = time.monotonic()
        until = started + seconds
        tasks = [client(session, url, payloads, i * 7, until, stats) for i in range(clients)]
        await asyncio.gather(*tasks)
        stats["seconds"] = time.monotonic() - started
    return stats


def process_cpu_s(pid: int) -> float:
    """utime + stime of a process (all threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(raw: Path, top: int = 25) -> str:
    """Self time by function (the leaf frame) from py-spy's raw output, busiest first."""
    leaves: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        total += int(count)
        leaves[stack.rsplit(";", 1)[-1]] += int(count)
    rows = [f"{100 * n / max(total, 1):5.1f}%  {frame}" for frame, n in leaves.most_common(top)]
    return f"py-spy, {total} samples, self time:\n" + "\n".join(rows)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(args: argparse.Namespace, settings: Settings) -> None:
    from schemas import admin as topic_admin
    from schemas import registry
    from schemas.avro import load_schema_set

    prefix = f"bench-{uuid.uuid4().hex[:8]}."
    env_settings = isolated_settings(
        settings.kafka.bootstrap_servers, settings.registry.url, prefix
    )
    env_settings.topics.partitions_override = None
    topic_admin.apply_topics(topic_admin.make_admin(env_settings.kafka), env_settings.topics)
    client = registry.make_client(env_settings.registry)
    done = registry.register_all(client, load_schema_set(), prefix)
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as tmp:
        collector = CollectorProcess(env_settings, Path(tmp) / "collector.log").start()
        assert collector.proc is not None
        pid = collector.proc.pid
        spy = None
        if args.profile:
            spy_bin = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen(
                [
                    spy_bin,
                    "record",
                    "-p",
                    str(pid),
                    "-o",
                    str(args.profile),
                    "-f",
                    "raw",
                    "-d",
                    str(int(args.seconds) + 2),
                    "-r",
                    "200",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        cpu_before = process_cpu_s(pid)
        stats = asyncio.run(
            load(f"{collector.url}/v1/batch", args.clients, args.seconds, args.batch)
        )
        cpu = process_cpu_s(pid) - cpu_before
        code = collector.stop()
        if spy is not None:
            spy.wait(60)
            print(summarize(args.profile))
    drop_prefix(env_settings, client, [r.subject for r in done])
    accepted = stats["status"][200] * args.batch
    rate = accepted / stats["seconds"]
    print(
        f"collector /v1/batch, batches of {args.batch}, {args.clients} clients, "
        f"{stats['seconds']:.1f} s, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}\n"
        f"  accepted events/s : {rate:,.0f}\n"
        f"  answers           : {dict(stats['status'])}\n"
        f"  latency p50/p99   : {1000 * percentile(stats['latency'], 0.5):.1f} / "
        f"{1000 * percentile(stats['latency'], 0.99):.1f} ms\n"
        f"  collector CPU     : {1e6 * cpu / max(accepted, 1):.1f} µs/event "
        f"({cpu / stats['seconds']:.2f} cores)\n"
        f"  collector exit    : {code}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", type=Path, help="py-spy the collector into this file")
    args = parser.parse_args(argv)

    from deploy.local import KafkaCluster, Registry

    settings = Settings()
    started: list[KafkaCluster | Registry] = []
    if not settings.bootstrap_servers:
        cluster, registry = KafkaCluster(settings.local), Registry(settings.local)
        for service in (cluster, registry):
            if not service.up().reused:
                started.append(service)
        settings = Settings(
            bootstrap_servers=cluster.bootstrap_servers, schema_registry_url=registry.url
        )
    try:
        run(args, settings)
    finally:
        for service in reversed(started):
            service.down()


if __name__ == "__main__":
    main()
