"""Each row of the table: what it runs, and how its figures are summarised and judged."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from tests.bench.env import BenchEnv
from tests.bench.feed import Fed, produce_workload
from tests.bench.report import Row
from tests.bench.workload import Shape

if TYPE_CHECKING:
    from tests.bench.recovery import Recovered
    from tests.bench.run import Plan

TITLES = {
    "B1": "processor throughput, mixed workload, 1 worker",
    "B2": "end-to-end latency, collector accept -> view / query API",
    "B3": "collector ingest, /v1/batch of 100",
    "B4": "recovery: fresh worker rebuilds tables from changelogs",
    "B5": "query API latency at 2k requests/s",
    "B6": "peak RSS: worker holding the customers; collector under B3",
}
BASELINE_NAMES = {"naive": "naive Faust", "quix": "Quix Streams", "ceiling": "bare consumer"}


@dataclass
class State:
    """What rows share within a run: the workload once produced, the recovered worker."""

    env: BenchEnv
    plan: Plan
    profile: bool
    fed: Fed | None = None
    recovered: Recovered | None = None
    collector_rss_mib: float | None = None
    notes: list[str] = field(default_factory=list)

    def workload(self) -> Fed:
        if self.fed is None:
            self.fed = produce_workload(self.env, self.plan.events, Shape())
            print(
                f"produced {self.fed.total} events in {self.fed.seconds:.1f}s: "
                + ", ".join(
                    f"{t.removeprefix(self.env.prefix)}={n}" for t, n in self.fed.per_topic.items()
                ),
                flush=True,
            )
        return self.fed

    def close(self) -> None:
        if self.recovered is not None:
            self.recovered.close()


def b1(state: State) -> Row:
    from tests.bench.baselines import run_baseline
    from tests.bench.profile import summarize
    from tests.bench.throughput import run_worker

    fed = state.workload()
    ours = run_worker(state.env, fed, profile=state.profile)
    row = Row("B1", TITLES["B1"], target=">= 15k events/s per worker, >= 7x naive Faust")
    row.figures = {
        "events_per_s": round(ours.rate),
        "cpu_us_per_event": round(ours.cpu_us, 1),
        "seconds": round(ours.seconds, 2),
        "events": ours.events,
        "peak_rss_mib": round(ours.peak_rss_mib),
    }
    row.details = {"records_per_topic": ours.records, "dead_letters": ours.dead_letters}
    parts = [f"{ours.rate:,.0f} ev/s ({ours.cpu_us:.0f} CPU µs/ev)"]
    for name in state.plan.baselines:
        base = run_baseline(state.env, name, fed)
        ratio = ours.rate / base.rate
        row.baselines[name] = {
            "events_per_s": round(base.rate),
            "cpu_us_per_event": round(base.cpu_us, 1),
            "ours_over_baseline": round(ratio, 2),
            "view_records": base.view_records,
        }
        parts.append(f"{BASELINE_NAMES[name]} {base.rate:,.0f} ev/s ({ratio:.2f}x)")
    naive = row.baselines.get("naive", {}).get("ours_over_baseline")
    row.met = ours.rate >= 15_000 and (naive is None or naive >= 7)
    row.summary = "; ".join(parts)
    print(f"ours: {ours}", flush=True)
    if ours.profile is not None:
        text = summarize(ours.profile)
        row.details["profile"] = text
        print(text, flush=True)
        kept = keep_profile(ours.profile, "b1-worker.spy")
        print(f"raw profile (py-spy --format raw, for a flame graph): {kept}", flush=True)
    return row


def keep_profile(raw: Path, name: str) -> Path:
    """Copy a raw profile out of the run's temporary directory, beside the results."""
    from tests.bench.report import RESULTS

    RESULTS.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(raw, RESULTS / name))


def b4(state: State) -> Row:
    from tests.bench.recovery import recover

    state.recovered = recovered = recover(state.env, state.plan.keys)
    row = Row("B4", TITLES["B4"], target="<= 20 s for 1M keys")
    row.figures = {
        "seconds": round(recovered.seconds, 2),
        "keys": recovered.keys,
        "changelog_records": recovered.records,
        "boot_seconds": round(recovered.boot_seconds, 2),
    }
    row.met = recovered.seconds <= 20 if recovered.keys >= 1_000_000 else None
    row.summary = (
        f"{recovered.seconds:.1f} s for {recovered.keys:,} customers "
        f"({recovered.records:,} changelog records; process start to every key answering, "
        f"of which {recovered.boot_seconds:.1f} s boot)"
    )
    return row


WARM_UP_S = 5.0


def b5(state: State) -> Row:
    from tests.bench import procs
    from tests.bench.profile import summarize
    from tests.bench.query import load

    recovered = state.recovered or _recover(state)
    # The first seconds after a restore are the worker settling (its first full garbage
    # collection and freeze, cold caches): measured apart, like a JMH warm-up, and reported.
    warm = load(recovered, rate=2000, seconds=WARM_UP_S)
    raw = state.env.workdir / "query.spy"
    spy = procs.start_profiler(recovered.proc.pid, raw) if state.profile else None
    cpu_before = procs.cpu_seconds(recovered.proc.pid)
    result = load(recovered, rate=2000, seconds=state.plan.query_seconds)
    cpu_us = 1e6 * (procs.cpu_seconds(recovered.proc.pid) - cpu_before) / max(len(result.all), 1)
    if spy is not None:
        procs.stop_profiler(spy)
        print(summarize(raw), flush=True)
    row = Row("B5", TITLES["B5"], target="p99 <= 5 ms at 2k rps")
    row.figures = {**result.figures(), "worker_cpu_us_per_request": round(cpu_us)}
    row.details = {**result.per_endpoint(), "warm_up": warm.figures()}
    row.met = result.p(99) <= 5.0 and result.achieved >= 0.95 * 2000
    print(f"B5 per endpoint: {row.details}", flush=True)
    row.summary = (
        f"p50 {result.p(50):.1f} ms, p99 {result.p(99):.1f} ms "
        f"({result.achieved:,.0f} rps achieved, {cpu_us:,.0f} worker CPU µs/request, "
        f"{result.errors} errors; the {WARM_UP_S:.0f} s before, right after the restore: "
        f"p99 {warm.p(99):.1f} ms)"
    )
    return row


def b6(state: State) -> Row:
    recovered = state.recovered or _recover(state)
    peak = recovered.peak_rss_mib()
    row = Row("B6", TITLES["B6"], target="worker <= 400 MB at 1M customers")
    row.figures = {"worker_peak_rss_mib": round(peak), "customers": recovered.keys}
    row.met = peak <= 400 if recovered.keys >= 1_000_000 else None
    row.summary = f"worker {peak:,.0f} MiB at {recovered.keys:,} customers"
    step = recovered.extra.get("restore_step_peak_rss_mib")
    if step:
        # The bulk restore runs in a child that exits before the worker serves; say its peak.
        row.figures["restore_step_peak_rss_mib"] = round(step)
        row.summary += f" (its bulk-restore child process peaked at {step:,.0f} MiB, then exited)"
    if state.collector_rss_mib is not None:
        row.figures["collector_peak_rss_mib"] = round(state.collector_rss_mib)
        row.summary += f"; collector {state.collector_rss_mib:,.0f} MiB under B3"
    else:
        row.summary += "; collector not measured"
    return row


def _recover(state: State) -> Recovered:
    from tests.bench.recovery import recover

    state.recovered = recover(state.env, state.plan.keys)
    return state.recovered


def b2(state: State) -> Row:
    from tests.bench.collector import latency_row

    return latency_row(state)


def b3(state: State) -> Row:
    from tests.bench.collector import ingest_row

    return ingest_row(state)


RUNNERS: dict[str, Callable[[State], Row]] = {
    "B1": b1,
    "B2": b2,
    "B3": b3,
    "B4": b4,
    "B5": b5,
    "B6": b6,
}
