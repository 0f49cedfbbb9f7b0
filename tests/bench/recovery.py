"""B4 and B6: a fresh worker rebuilds tables of N customers from their changelogs.

The changelogs are written directly, with the tables' own encoders: one
``identity_links`` entry and one ``context_by_customer`` entry per customer
(the context built by the real rules from a login and a few interactions),
plus ``stock_by_sku`` for every SKU and location, so the query API (B5) has
stock to answer too. These are the bytes a worker would have written; making
them by processing 1M customers' events would take this machine many minutes
and measure B1 again.

The worker's consumer group is committed to the end of every source first,
so the fresh worker only restores and serves: nothing else runs while B4, B5
and B6 measure it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from confluent_kafka import Consumer, Producer, TopicPartition

from schemas.samples import BASE_TIME, sample_event
from streams.common import idempotency
from streams.context import rules as context_rules
from streams.context import tables as context_tables
from streams.identity import tables as identity_tables
from streams.stock import model as stock_model
from streams.stock import rules as stock_rules
from streams.stock import tables as stock_tables
from tests.bench import procs
from tests.bench.env import SOURCES, BenchEnv, create_changelogs, end_offsets
from tests.bench.workload import Shape, customer_id, location, sku

PLACEHOLDER = "CUST-99999999"  # same length as every customer id, replaced per customer
INTERACTIONS = ("omni.customer.PageViewed", "omni.customer.ProductViewed")


@dataclass
class Recovered:
    """The restored worker, kept running for B5 and B6."""

    proc: procs.Proc
    url: str
    keys: int
    records: int
    seconds: float
    boot_seconds: float
    skus: int
    locations: int
    sampler: procs.Sampler | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def peak_rss_mib(self) -> float:
        return procs.memory_kib(self.proc.pid)["VmHWM"] / 1024

    def close(self) -> None:
        self.proc.stop()


def context_template() -> bytes:
    """A customer's context after a login and a few interactions, with the placeholder id."""
    state = context_tables.empty(PLACEHOLDER, "customer")
    keys = [f"customer:{PLACEHOLDER}", f"anonymous:anon-{PLACEHOLDER[5:]}"]
    ctx = context_rules.with_identifiers(state.ctx, keys, BASE_TIME)
    seen = state.seen
    for n, record in enumerate(INTERACTIONS * 2):
        event = sample_event(record, n)
        event["envelope"]["occurred_at"] = BASE_TIME + timedelta(minutes=n)
        outcome = context_rules.apply(ctx, record, event)
        ctx = getattr(outcome, "state", ctx)
        _, seen = idempotency.admit(seen, event["envelope"])
    return context_tables.encode(context_tables.ProfileState(ctx, seen, "customer"))


def link_template() -> bytes:
    entry = identity_tables.singleton(PLACEHOLDER, "customer")
    members = frozenset({*entry.members, f"anonymous:anon-{PLACEHOLDER[5:]}"})
    return identity_tables.encode(
        identity_tables.Entry(PLACEHOLDER, "customer", PLACEHOLDER, "customer", members)
    )


def stock_value(code: str, locations: int, envelope: dict[str, Any]) -> bytes:
    stock = stock_model.Stock(code)
    for n in range(locations):
        event = {
            "envelope": {**envelope, "occurred_at": BASE_TIME + timedelta(minutes=n)},
            "sku": code,
            "location_id": location(n),
            "kind": "received",
            "quantity": 10 + n,
        }
        outcome = stock_rules.apply(stock, "omni.inventory.StockMovement", event)
        assert isinstance(outcome, stock_rules.Moved)
        stock = outcome.state
    return stock_tables.encode(stock_tables.SkuState(stock, idempotency.Seen()))


def write_changelogs(env: BenchEnv, app_id: str, customers: int, shape: Shape) -> int:
    """Produce the tables' changelog records; returns how many."""
    prefix = f"{app_id}-"
    links = f"{prefix}{identity_tables.TABLE_NAME}-changelog"
    contexts = f"{prefix}{context_tables.TABLE_NAME}-changelog"
    stock = f"{prefix}{stock_tables.TABLE_NAME}-changelog"
    producer = Producer(
        {**env.settings.kafka.as_producer_dict(linger_ms=50), "batch.size": 1 << 20}
    )
    ctx_bytes, link_bytes = context_template(), link_template()
    placeholder = PLACEHOLDER.encode()
    count = 0

    def send(topic: str, key: bytes, value: bytes) -> None:
        while True:
            try:
                producer.produce(topic, key=key, value=value)
                return
            except BufferError:
                producer.poll(0.1)

    for n in range(customers):
        key = customer_id(n).encode()
        send(links, key, link_bytes.replace(placeholder, key))
        send(contexts, key, ctx_bytes.replace(placeholder, key))
        count += 2
        if n % 10_000 == 0:
            producer.poll(0)
    envelope = sample_event("omni.inventory.StockMovement", 1)["envelope"]
    for n in range(shape.skus):
        code = sku(n)
        send(stock, code.encode(), stock_value(code, shape.locations, envelope))
        count += 1
    if producer.flush(300):
        raise RuntimeError("changelog records were not all acknowledged")
    return count


def skip_sources(env: BenchEnv, group: str) -> None:
    """Commit ``group`` at the end of every source, so the worker only restores and serves."""
    ends = end_offsets(env, [env.topic(t) for t in SOURCES])
    consumer: Consumer = env.consumer(group=group)
    try:
        consumer.commit(
            offsets=[TopicPartition(t, p, max(end, 0)) for (t, p), end in ends.items()],
            asynchronous=False,
        )
    finally:
        consumer.close()


def recover(env: BenchEnv, customers: int, shape: Shape | None = None) -> Recovered:
    """Write the changelogs, start a fresh worker, time it until every probe answers."""
    shape = shape or Shape()
    app_id = env.app_id("recovery")
    create_changelogs(env, app_id)
    started = time.monotonic()
    records = write_changelogs(env, app_id, customers, shape)
    print(f"wrote {records:,} changelog records in {time.monotonic() - started:.1f}s", flush=True)
    skip_sources(env, app_id)
    data = env.workdir / "recovery"
    # The bulk restore is off by default (see streams/restore.py); B4 measures it switched on.
    worker_env = env.worker_env(app_id, data, bulk_restore="true")
    proc = procs.worker(worker_env, "w1", env.workdir / "recovery.log")
    url = f"http://127.0.0.1:{proc.env['OMNI_STREAMS__WEB_PORT']}"
    probes = [customer_id(n) for n in range(max(customers - 50, 0), customers)]
    probes += [sku(shape.skus - 1)]
    proc.start()
    restore_step = procs.ChildPeak(proc.pid).start()
    try:
        boot = wait_answer(proc, f"{url}/metrics", started=proc.started_at)
        seconds = wait_all(proc, url, probes)
    except BaseException:
        proc.stop()
        raise
    finally:
        restore_peak = restore_step.stop()
    recovered = Recovered(proc, url, customers, records, seconds, boot, shape.skus, shape.locations)
    recovered.extra["restore_step_peak_rss_mib"] = restore_peak
    return recovered


def wait_answer(proc: procs.Proc, url: str, started: float, timeout_s: float = 300) -> float:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        proc.check()
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.time() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer in {timeout_s:.0f}s:\n{proc.tail()}")


def wait_all(proc: procs.Proc, url: str, probes: list[str], timeout_s: float = 600) -> float:
    """Seconds from process start until every probe key answers 200 (state restored)."""
    pending = list(probes)
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=5) as client:
        while pending and time.monotonic() < deadline:
            proc.check()
            key = pending[-1]
            path = f"/v1/stock/{key}" if key.startswith("SKU-") else f"/v1/customers/{key}/context"
            try:
                status = client.get(f"{url}{path}").status_code
            except httpx.HTTPError:
                status = 0
            if status == 200:
                pending.pop()
                continue
            time.sleep(0.05)
    if pending:
        raise TimeoutError(f"{len(pending)} keys not restored in {timeout_s:.0f}s:\n{proc.tail()}")
    return time.time() - proc.started_at
