"""B1: events/s of one ``omni worker`` on the mixed workload, RocksDB store.

The clock starts just before the worker's first event (the last /metrics poll
that still counted none) and stops at the CreateTime of the last view record
on any view topic, once the worker's consumer group has committed the end of
every source partition (inputs and the internal hops between its stages).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from schemas.catalogue import (
    CART_VIEW,
    CUSTOMER_CONTEXT_VIEW,
    DEAD_LETTERS,
    ORDER_VIEW,
    STOCK_LEVEL_VIEW,
    STOCK_TOTAL_VIEW,
)
from tests.bench import procs
from tests.bench.env import (
    SOURCES,
    BenchEnv,
    create_changelogs,
    end_offsets,
    last_timestamp_ms,
    wait_group_done,
)
from tests.bench.feed import Fed

VIEWS = (CUSTOMER_CONTEXT_VIEW, CART_VIEW, STOCK_LEVEL_VIEW, STOCK_TOTAL_VIEW, ORDER_VIEW)


@dataclass(frozen=True)
class WorkerRun:
    """What one worker did with the workload."""

    events: int
    seconds: float
    cpu_seconds: float
    peak_rss_mib: float
    records: dict[str, int]  # per topic (views, sources, changelogs), after the run
    dead_letters: int
    profile: Path | None = None

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.events


def run_worker(
    env: BenchEnv, fed: Fed, name: str = "ours", profile: bool = False, timeout_s: float = 900
) -> WorkerRun:
    """One fresh worker (own app id, empty state) through the pre-produced workload."""
    app_id = env.app_id(name)
    changelogs = create_changelogs(env, app_id)
    data = env.workdir / name
    proc = procs.worker(env.worker_env(app_id, data), "w1", env.workdir / f"{name}.log")
    url = f"http://127.0.0.1:{proc.env['OMNI_STREAMS__WEB_PORT']}"
    proc.start()
    sampler = procs.Sampler(proc.pid).start()
    spy = None
    raw = env.workdir / f"{name}.spy" if profile else None
    try:
        started = procs.wait_first_event(proc, url)
        if raw is not None:
            spy = procs.start_profiler(proc.pid, raw)
        sources = [env.topic(t) for t in SOURCES]
        wait_group_done(env, app_id, sources, timeout_s, check=lambda: healthy(proc))
        if spy is not None:
            procs.stop_profiler(spy)
            spy = None
        last_ms = last_timestamp_ms(env, [env.topic(v) for v in VIEWS])
        ended = last_ms / 1000
        peak = procs.memory_kib(proc.pid)["VmHWM"] / 1024
    finally:
        if spy is not None:
            procs.stop_profiler(spy)
        sampler.stop()
        proc.stop()
    ends = end_offsets(env, [*(env.topic(t) for t in (*VIEWS, *SOURCES)), *changelogs])
    records: dict[str, int] = {}
    for (topic, _), n in ends.items():
        short = topic.removeprefix(env.prefix)
        records[short] = records.get(short, 0) + n
    dlq = sum(end_offsets(env, [env.topic(DEAD_LETTERS)]).values())
    cpu = sampler.cpu_at(ended) - sampler.cpu_at(started)
    return WorkerRun(fed.total, ended - started, cpu, peak, records, dlq, raw)


def healthy(proc: procs.Proc) -> None:
    """Fail fast: a crashed agent leaves the worker running but idle for good."""
    proc.check()
    text = proc.log.read_text(errors="replace")
    if "Crashed reason" in text:
        start = text.index("Crashed reason")
        raise RuntimeError(f"an agent crashed in the worker: {text[start - 200 : start + 1500]}")
